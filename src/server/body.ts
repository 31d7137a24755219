/**
 * @module wirekit/server/body
 * Request-body readers for node's `IncomingMessage`: `readBytes`, `readText`, `readJson`,
 * `readForm` and `bodyStream`. Each one decodes gzip/deflate/br and enforces a byte limit on
 * the wire bytes and the decoded bytes before anything is buffered past it.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import * as zlib from 'node:zlib';
import { badRequest, contentTooLarge, HttpError, unsupportedMediaType } from './errors.js';

/** Options for every body reader. */
export interface BodyOptions {
  /**
   * Most bytes the body may have, counted both as received (after chunked decoding) and after
   * Content-Encoding is undone; past it the reader fails with a 413 `HttpError`. `Infinity`
   * lifts the limit. **Default:** `1_048_576` (1 MiB).
   */
  limit?: number;
}

/** Options for {@link readForm}. */
export interface FormOptions extends BodyOptions {
  /** Most `key=value` pairs the form may have; past it, 413. **Default:** `1000`. */
  maxKeys?: number;
}

export const bodyDefaults = { limit: 1_048_576 } satisfies Required<BodyOptions>;
export const formDefaults = { ...bodyDefaults, maxKeys: 1000 } satisfies Required<FormOptions>;

/** A media type (lower-cased `type/subtype`) and its parameters (lower-cased names). */
export interface MediaType {
  type: string;
  params: Map<string, string>;
}

const PARAM = /;[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^;]*)/g;

/**
 * Parses a Content-Type value, or returns `undefined` when there is none. Parameters that do
 * not parse are dropped rather than failing, as browsers do.
 *
 * @example
 * parseMediaType('text/plain; charset="UTF-8"'); // { type: 'text/plain', params: Map { 'charset' => 'UTF-8' } }
 */
export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (type === '') return undefined;
  const params = new Map<string, string>();
  if (semi !== -1) {
    PARAM.lastIndex = semi;
    for (let match = PARAM.exec(header); match !== null; match = PARAM.exec(header)) {
      const raw = match[2]!.trim();
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      const name = match[1]!.toLowerCase();
      if (!params.has(name)) params.set(name, value);
    }
  }
  return { type, params };
}

/** @internal Checks a size option: a non-negative integer, or `Infinity`. */
export function checkSize(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!(value === Infinity || (Number.isInteger(value) && value >= 0))) {
    throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${value}`);
  }
  return value;
}

function optionsObject<T extends object>(options: T | undefined, what: string): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${what} options must be an object`);
  }
  return options;
}

function resolveLimit(options: BodyOptions | undefined): number {
  const { limit = bodyDefaults.limit } = optionsObject(options, 'body');
  return checkSize('limit', limit);
}

/**
 * The body is not read to its end after these errors, so the connection cannot carry another
 * request unless the server reads and discards the rest: closing it is cheaper and stops a
 * client from making the server swallow a huge upload it already refused.
 */
const CLOSE = { connection: 'close' };

const tooLarge = (limit: number) =>
  contentTooLarge(`the request body is larger than the ${limit}-byte limit`, { headers: CLOSE });

// Both stay on the request across readers: the buffered readers share one read, and a streamed
// body cannot be replayed.
const buffered = new WeakMap<IncomingMessage, Promise<Buffer>>();
const streamed = new WeakSet<IncomingMessage>();

function alreadyConsumed(): HttpError {
  return new HttpError(500, 'the request body was already consumed as a stream', { expose: false });
}

type Decoder = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;

/**
 * Checks what can be checked before a byte is read (Content-Length against the limit, the
 * Content-Encoding) and returns the decoder the body needs, if any.
 */
function prepare(req: IncomingMessage, limit: number): { decoder: Decoder | undefined; coding: string } {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > limit) {
    throw contentTooLarge(`Content-Length ${length} is larger than the ${limit}-byte limit`, {
      headers: CLOSE,
    });
  }
  const codings = (req.headers['content-encoding'] ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return { decoder: undefined, coding: 'identity' };
  // Stacked codings are legal but no real client sends them, and each layer multiplies the
  // work a small body can demand.
  if (codings.length > 1) throw unsupportedMediaType('stacked Content-Encodings are not supported');
  const coding = codings[0]!;
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return { decoder: zlib.createGunzip(), coding };
    case 'deflate':
      return { decoder: zlib.createInflate(), coding };
    case 'br':
      return { decoder: zlib.createBrotliDecompress(), coding };
    default:
      throw unsupportedMediaType(`Content-Encoding ${coding} is not supported`);
  }
}

/** Where a {@link BodyPump} delivers. `chunk` returns false to ask for a pause. */
interface Sink {
  chunk(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

/**
 * Moves the body from the request through the decoder to a sink, counting wire and decoded
 * bytes. On a failure it stops decoding and lets the request drain, so the socket is never
 * destroyed under a response that is still to be written.
 */
class BodyPump {
  readonly #req: IncomingMessage;
  readonly #decoder: Decoder | undefined;
  readonly #coding: string;
  readonly #limit: number;
  readonly #sink: Sink;
  #received = 0;
  #decoded = 0;
  #done = false;
  #decoderFull = false;

  constructor(req: IncomingMessage, limit: number, sink: Sink) {
    const { decoder, coding } = prepare(req, limit);
    this.#req = req;
    this.#decoder = decoder;
    this.#coding = coding;
    this.#limit = limit;
    this.#sink = sink;
    // Paused first, so that adding the 'data' listeners does not start the flow.
    req.pause();
    req.on('data', this.#onWire);
    req.on('end', this.#onWireEnd);
    req.on('error', this.#onAbort);
    req.on('close', this.#onClose);
    if (decoder !== undefined) {
      decoder.pause();
      decoder.on('data', this.#onDecoded);
      decoder.on('end', this.#finish);
      decoder.on('error', this.#onCorrupt);
      decoder.on('drain', this.#onDecoderDrain);
    }
  }

  resume(): void {
    if (this.#done) return;
    this.#decoder?.resume();
    if (!this.#decoderFull) this.#req.resume();
  }

  /** Stops early (the consumer went away): nothing more is delivered. */
  stop(): void {
    if (!this.#done) this.#teardown();
  }

  #onWire = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#received += chunk.length;
    if (this.#received > this.#limit) return this.#fail(tooLarge(this.#limit));
    if (this.#decoder === undefined) {
      this.#decoded = this.#received;
      if (!this.#sink.chunk(chunk)) this.#req.pause();
    } else if (!this.#decoder.write(chunk)) {
      this.#decoderFull = true;
      this.#req.pause();
    }
  };

  #onDecoderDrain = (): void => {
    this.#decoderFull = false;
    if (!this.#done && !this.#decoder!.isPaused()) this.#req.resume();
  };

  #onDecoded = (chunk: Buffer): void => {
    if (this.#done) return;
    this.#decoded += chunk.length;
    // Checked on every output chunk (16 KiB at most), so a bomb stops one chunk past the limit.
    if (this.#decoded > this.#limit) return this.#fail(tooLarge(this.#limit));
    if (!this.#sink.chunk(chunk)) this.#decoder!.pause();
  };

  #onWireEnd = (): void => {
    if (this.#done) return;
    // An empty body with a Content-Encoding is just empty, not a truncated stream.
    if (this.#decoder === undefined || this.#received === 0) this.#finish();
    else this.#decoder.end();
  };

  // node destroys the request with an error when the connection closes under it; 'close'
  // without 'end' covers any other way a body could stop short.
  #onClose = (): void => {
    if (!this.#req.readableEnded) this.#onAbort();
  };

  #onAbort = (err?: unknown): void => {
    this.#fail(badRequest('the request body was cut short', { cause: err }));
  };

  #onCorrupt = (err: Error): void => {
    this.#fail(badRequest(`the ${this.#coding} request body is corrupt`, { cause: err, headers: CLOSE }));
  };

  #finish = (): void => {
    if (this.#done) return;
    this.#teardown();
    this.#sink.end();
  };

  #fail(err: Error): void {
    if (this.#done) return;
    this.#teardown();
    this.#sink.error(err);
  }

  #teardown(): void {
    this.#done = true;
    const req = this.#req;
    req.off('data', this.#onWire);
    req.off('end', this.#onWireEnd);
    req.off('error', this.#onAbort);
    req.off('close', this.#onClose);
    if (this.#decoder !== undefined) {
      this.#decoder.off('data', this.#onDecoded);
      this.#decoder.off('drain', this.#onDecoderDrain);
      // A late zlib error after destroy has nowhere useful to go.
      this.#decoder.on('error', () => {});
      this.#decoder.destroy();
    }
    // Reading on with no listener discards the rest, as node does for a body nobody read;
    // a `Connection: close` response cuts that short.
    if (!req.readableEnded) req.resume();
  }
}

/** A Readable over a {@link BodyPump}, with the consumer's backpressure passed through. */
class BodyStream extends Readable {
  readonly #pump: BodyPump;
  constructor(req: IncomingMessage, limit: number) {
    super();
    this.#pump = new BodyPump(req, limit, {
      chunk: (chunk) => this.push(chunk),
      end: () => this.push(null),
      error: (err) => this.destroy(err),
    });
  }
  override _read(): void {
    this.#pump.resume();
  }
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#pump.stop();
    callback(err);
  }
}

/** Claims the body for a stream, or throws when it is gone. */
function claimStream(req: IncomingMessage): void {
  if (streamed.has(req) || req.readableDidRead) throw alreadyConsumed();
  streamed.add(req);
}

/**
 * The decoded body as a Node `Readable` (also an async iterable of Buffers). It fails with a
 * 413 `HttpError` as soon as the limit is passed, with a 400 when the client cuts the body
 * short or the compressed body is corrupt. A Content-Length over the limit or an unknown
 * Content-Encoding throws (413/415) before anything is read.
 *
 * The body can be streamed once: a second `bodyStream()` (or `readMultipart()`) throws a 500
 * `HttpError` with `expose: false`, and so do the buffered readers afterwards. After a buffered
 * reader, `bodyStream()` replays the cached bytes.
 *
 * @example
 * app.put('/files/:name', async (ctx) => {
 *   await pipeline(bodyStream(ctx.req, { limit: 100 * 1024 * 1024 }), createWriteStream(dest));
 *   return { ok: true };
 * });
 */
export function bodyStream(req: IncomingMessage, options?: BodyOptions): Readable {
  const limit = resolveLimit(options);
  const cached = buffered.get(req);
  if (cached !== undefined) {
    return Readable.from(
      (async function* () {
        const bytes = await cached;
        if (bytes.length > limit) throw tooLarge(limit);
        yield bytes;
      })(),
      { objectMode: false },
    );
  }
  claimStream(req);
  return new BodyStream(req, limit);
}

function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const pump = new BodyPump(req, limit, {
      chunk(chunk) {
        chunks.push(chunk);
        size += chunk.length;
        return true;
      },
      end: () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)),
      error: reject,
    });
    pump.resume();
  });
}

/**
 * The whole decoded body as one Buffer, held to `limit` (see {@link BodyOptions}).
 *
 * The bytes are cached on the request: `readBytes`, `readText`, `readJson` and `readForm` may
 * be called in any order and any number of times, and read the wire once; each call still
 * checks its own `limit` against the cached bytes. The first read's failure is every later
 * read's failure. After `bodyStream()` or `readMultipart()` it rejects with a 500 `HttpError`
 * (`expose: false`): a streamed body is gone.
 *
 * @example
 * const raw = await readBytes(req, { limit: 64 * 1024 });
 * const signature = createHmac('sha256', secret).update(raw).digest('hex');
 */
export async function readBytes(req: IncomingMessage, options?: BodyOptions): Promise<Buffer> {
  const limit = resolveLimit(options);
  let bytes = buffered.get(req);
  if (bytes === undefined) {
    if (streamed.has(req) || req.readableDidRead) throw alreadyConsumed();
    bytes = collect(req, limit);
    // Cache a settled-safe promise: a failure that nobody awaits again must not go unhandled.
    bytes.catch(() => {});
    buffered.set(req, bytes);
  }
  const body = await bytes;
  if (body.length > limit) throw tooLarge(limit);
  return body;
}

const decoders = new Map<string, TextDecoder>();

function decoderFor(charset: string): TextDecoder {
  let decoder = decoders.get(charset);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(charset);
    } catch {
      throw unsupportedMediaType(`charset ${charset} is not supported`);
    }
    // Bounded: only labels TextDecoder knows get here, and there are a few hundred.
    decoders.set(charset, decoder);
  }
  return decoder;
}

/**
 * The body as a string, decoded with the Content-Type's `charset` (UTF-8 when there is none).
 * Any label `TextDecoder` knows works (`utf-8`, `utf-16le`, `iso-8859-1`/`latin1`, ...);
 * another is a 415. Invalid byte sequences become
 * U+FFFD, and a leading BOM is dropped. Any Content-Type is accepted. Cached like
 * {@link readBytes}.
 *
 * @example
 * app.post('/notes', async (ctx) => {
 *   notes.push(await readText(ctx.req));
 *   return { count: notes.length };
 * });
 */
export async function readText(req: IncomingMessage, options?: BodyOptions): Promise<string> {
  const charset = parseMediaType(req.headers['content-type'])?.params.get('charset')?.trim().toLowerCase();
  const decoder = decoderFor(charset || 'utf-8');
  return decoder.decode(await readBytes(req, options));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * The body parsed as JSON with {@link safeJsonParse}, so `__proto__` keys and
 * `constructor.prototype` never survive into the result.
 *
 * The Content-Type must be `application/json` or `application/*+json`, else 415 — a missing
 * one too. Unlike aiohttp (which parses whatever arrives) and like fastify: a browser page on
 * any origin can POST a `text/plain` body, or a Blob with no type at all, without a CORS
 * preflight, so a JSON API that ignores the Content-Type is open to cross-site request
 * forgery. A `charset` other than UTF-8 is a 415 (RFC 8259 makes JSON UTF-8), bytes that are
 * not UTF-8 are a 400, and so are an empty body and invalid JSON (with a short message that
 * does not echo the body). Cached like {@link readBytes}.
 *
 * @example
 * app.post('/users', async (ctx) => {
 *   const { name } = await readJson<{ name: string }>(ctx.req);
 *   return { created: name };
 * });
 */
export async function readJson<T = unknown>(req: IncomingMessage, options?: BodyOptions): Promise<T> {
  const media = parseMediaType(req.headers['content-type']);
  if (media === undefined || !isJsonType(media.type)) {
    throw unsupportedMediaType('expected a Content-Type of application/json');
  }
  const charset = media.params.get('charset')?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupportedMediaType(`JSON must be UTF-8, not ${charset}`);
  }
  const bytes = await readBytes(req, options);
  if (bytes.length === 0) throw badRequest('the request body is empty; expected JSON');
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (err) {
    throw badRequest('the JSON body is not valid UTF-8', { cause: err });
  }
  try {
    return safeJsonParse(text) as T;
  } catch (err) {
    throw badRequest('the request body is not valid JSON', { cause: err });
  }
}

/** `"word"` followed by `:` (a key), where any character may be a `\uXXXX` escape. */
function keyPattern(word: string): string {
  const chars = Array.from(word, (char) => {
    const hex = char.charCodeAt(0).toString(16).padStart(4, '0');
    const escaped = hex.replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`);
    return `(?:${char}|\\\\u${escaped})`;
  });
  return chars.join('');
}

/** Spots a text that may hold a dangerous key, so that the common case skips the walk. */
const SUSPICIOUS = new RegExp(`"(?:${keyPattern('__proto__')}|${keyPattern('constructor')})"\\s*:`);

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * `JSON.parse`, then every `__proto__` key and every `constructor` key whose value has a
 * `prototype` is removed, at any depth (what fastify's secure-json-parse does with
 * `protoAction: 'remove'` and `constructorAction: 'remove'`). `JSON.parse` alone does not
 * pollute, but its output does once merged or cloned key by key into another object. Removing
 * rather than rejecting keeps the rest of the document usable. Throws `SyntaxError` on invalid
 * JSON.
 *
 * @example
 * const value = safeJsonParse('{"a": 1, "__proto__": {"admin": true}}'); // { a: 1 }
 * Object.assign({}, value).admin; // undefined
 */
export function safeJsonParse(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || !SUSPICIOUS.test(text)) return value;
  // Iterative: JSON.parse handles nesting deeper than the call stack, so this must too.
  const pending: object[] = [value];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (!Array.isArray(node)) {
      const record = node as Record<string, unknown>;
      if (hasOwn(record, '__proto__')) delete record['__proto__'];
      const ctor = hasOwn(record, 'constructor') ? record['constructor'] : undefined;
      if (ctor !== null && typeof ctor === 'object' && hasOwn(ctor, 'prototype')) {
        delete record['constructor'];
      }
    }
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push(child as object);
    }
  }
  return value;
}

/** Counts `&`-separated pairs that are not empty, stopping once `max` is passed. */
function tooManyKeys(text: string, max: number): boolean {
  let count = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    if (end > start && ++count > max) return true;
    start = end + 1;
  }
  return false;
}

/**
 * An `application/x-www-form-urlencoded` body as a null-prototype object. A key that appears
 * once maps to its string; a key that appears more than once maps to an array of its values in
 * order (`a=1&a=2` is `{ a: ['1', '2'] }`). `+` is a space and percent escapes are UTF-8, as
 * browsers send them; a key without `=` has the value `''`.
 *
 * Another Content-Type (a missing one too) is a 415: multipart forms go through
 * `readMultipart`. More than `maxKeys` pairs is a 413, counted before any is decoded. Cached
 * like {@link readBytes}.
 *
 * @example
 * app.post('/login', async (ctx) => {
 *   const { username, password } = await readForm(ctx.req);
 *   if (typeof username !== 'string') throw badRequest('one username, please');
 * });
 */
export async function readForm(
  req: IncomingMessage,
  options?: FormOptions,
): Promise<Record<string, string | string[]>> {
  const { maxKeys = formDefaults.maxKeys } = optionsObject(options, 'form');
  checkSize('maxKeys', maxKeys);
  const type = parseMediaType(req.headers['content-type'])?.type;
  if (type !== 'application/x-www-form-urlencoded') {
    throw unsupportedMediaType('expected a Content-Type of application/x-www-form-urlencoded');
  }
  const text = (await readBytes(req, options)).toString('utf8');
  if (tooManyKeys(text, maxKeys)) throw contentTooLarge(`the form has more than ${maxKeys} keys`);
  const form: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const previous = form[key];
    if (previous === undefined) form[key] = value;
    else if (typeof previous === 'string') form[key] = [previous, value];
    else previous.push(value);
  }
  return form;
}
