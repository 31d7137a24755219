/**
 * @module wirekit/server/body
 * Request-body readers for node's `IncomingMessage`: `readBytes`, `readText`, `readJson`,
 * `readForm` and `bodyStream`. Each one decodes gzip/deflate/br and enforces a byte limit on
 * the wire bytes and the decoded bytes before anything is buffered past it (body-pump.ts).
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { safeJsonParse } from '../http/json.js';
import { isJsonType, parseMediaType } from '../http/media-type.js';
import { BodyStream, collect, tooLarge } from './body-pump.js';
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

// Both stay on the request across readers: the buffered readers share one read, and a streamed
// body cannot be replayed. Symbol properties rather than weak collections: one hidden-class
// slot on a request that dies with it, nothing for the collector to trace.
const BUFFERED = Symbol('wirekit.body');
const STREAMED = Symbol('wirekit.bodyStreamed');

interface BodyState {
  [BUFFERED]?: Promise<Buffer>;
  [STREAMED]?: true;
}

const ignore = (): void => {};

function alreadyConsumed(): HttpError {
  return new HttpError(500, 'the request body was already consumed as a stream', { expose: false });
}

/** Claims the body for a stream, or throws when it is gone. */
function claimStream(req: IncomingMessage & BodyState): void {
  if (req[STREAMED] === true || req.readableDidRead) throw alreadyConsumed();
  req[STREAMED] = true;
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
 * // The route declares its limit, so a client asking `Expect: 100-continue` is answered by it.
 * app.put('/files/:name', { bodyLimit: 100 * 1024 * 1024 }, async (ctx) => {
 *   await pipeline(bodyStream(ctx.req, { limit: ctx.bodyLimit }), createWriteStream(dest));
 *   return { ok: true };
 * });
 */
export function bodyStream(req: IncomingMessage, options?: BodyOptions): Readable {
  const limit = resolveLimit(options);
  const cached = (req as BodyState)[BUFFERED];
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
export function readBytes(req: IncomingMessage, options?: BodyOptions): Promise<Buffer> {
  let limit: number;
  try {
    limit = resolveLimit(options);
  } catch (err) {
    return Promise.reject(err);
  }
  return bytesWithin(req, limit);
}

/** @internal {@link readBytes} with a checked limit (what `ctx.bytes()` calls). */
export function bytesWithin(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return bytesOrThrow(req, limit);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Throws, rather than rejects, what it sees at once: the callers turn that into a rejection. */
function bytesOrThrow(req: IncomingMessage & BodyState, limit: number): Promise<Buffer> {
  let bytes = req[BUFFERED];
  if (bytes === undefined) {
    if (req[STREAMED] === true || req.readableDidRead) throw alreadyConsumed();
    bytes = collect(req, limit);
    // Cache a settled-safe promise: a failure that nobody awaits again must not go unhandled.
    bytes.catch(ignore);
    req[BUFFERED] = bytes;
    return bytes;
  }
  return bytes.then((body) => {
    if (body.length > limit) throw tooLarge(limit);
    return body;
  });
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
export function readJson<T = unknown>(req: IncomingMessage, options?: BodyOptions): Promise<T> {
  let limit: number;
  try {
    limit = resolveLimit(options);
  } catch (err) {
    return Promise.reject(err);
  }
  return jsonWithin<T>(req, limit);
}

/** The Content-Type most JSON clients send, checked without parsing it. */
function isPlainJson(header: string | undefined): boolean {
  return header === 'application/json' || header === 'application/json; charset=utf-8';
}

function checkJsonType(header: string | undefined): void {
  if (isPlainJson(header)) return;
  const media = parseMediaType(header);
  if (media === undefined || !isJsonType(media.type)) {
    throw unsupportedMediaType('expected a Content-Type of application/json');
  }
  const charset = media.params.get('charset')?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupportedMediaType(`JSON must be UTF-8, not ${charset}`);
  }
}

function parseJsonBody(bytes: Buffer): unknown {
  if (bytes.length === 0) throw badRequest('the request body is empty; expected JSON');
  const text = bytes.toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD, so only a text holding one needs the bytes checked; for a
  // text of one-byte characters, V8 answers that without a scan.
  if (text.includes('\ufffd') && !isUtf8(bytes)) throw badRequest('the JSON body is not valid UTF-8');
  try {
    return safeJsonParse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw badRequest('the request body is not valid JSON', { cause: err });
  }
}

/** @internal {@link readJson} with a checked limit (what `ctx.json()` calls). */
export function jsonWithin<T>(req: IncomingMessage, limit: number): Promise<T> {
  try {
    checkJsonType(req.headers['content-type']);
    return bytesOrThrow(req, limit).then(parseJsonBody) as Promise<T>;
  } catch (err) {
    return Promise.reject(err);
  }
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
