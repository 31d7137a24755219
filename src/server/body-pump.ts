/**
 * @module wirekit/server/body-pump
 * The machinery under the body readers: checks made before a byte is read, the pump that moves
 * a body through its decoder while counting bytes against the limit, and the plain collector
 * for the common identity-coded body.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type * as Zlib from 'node:zlib';
import { badRequest, contentTooLarge, unsupportedMediaType } from './errors.js';

/**
 * The body is not read to its end after these errors, so the connection cannot carry another
 * request unless the server reads and discards the rest: closing it is cheaper and stops a
 * client from making the server swallow a huge upload it already refused.
 */
export const CLOSE = { connection: 'close' };

export const tooLarge = (limit: number) =>
  contentTooLarge(`the request body is larger than the ${limit}-byte limit`, { headers: CLOSE });

const cutShort = (cause?: unknown) => badRequest('the request body was cut short', { cause });

type Decoder = Zlib.Gunzip | Zlib.Inflate | Zlib.BrotliDecompress;

/** node:zlib, loaded by the first encoded request body: most servers never see one. */
const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');

/** Throws a 413 when the declared Content-Length is over `limit`: nothing needs reading to know. */
function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > limit) {
    throw contentTooLarge(`Content-Length ${length} is larger than the ${limit}-byte limit`, {
      headers: CLOSE,
    });
  }
}

/** The decoder a Content-Encoding needs, `undefined` for identity; 415 for what is not supported. */
function decoderFor(header: string | undefined): { decoder: Decoder; coding: string } | undefined {
  if (header === undefined) return undefined;
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return undefined;
  // Stacked codings are legal but no real client sends them, and each layer multiplies the
  // work a small body can demand.
  if (codings.length > 1) throw unsupportedMediaType('stacked Content-Encodings are not supported');
  const coding = codings[0]!;
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return { decoder: zlib().createGunzip(), coding };
    case 'deflate':
      return { decoder: zlib().createInflate(), coding };
    case 'br':
      return { decoder: zlib().createBrotliDecompress(), coding };
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
    checkDeclaredLength(req, limit);
    const decoding = decoderFor(req.headers['content-encoding']);
    this.#req = req;
    this.#decoder = decoding?.decoder;
    this.#coding = decoding?.coding ?? 'identity';
    this.#limit = limit;
    this.#sink = sink;
    // Paused first, so that adding the 'data' listeners does not start the flow.
    req.pause();
    req.on('data', this.#onWire);
    req.on('end', this.#onWireEnd);
    req.on('error', this.#onAbort);
    req.on('close', this.#onClose);
    const decoder = this.#decoder;
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
    this.#fail(cutShort(err));
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
export class BodyStream extends Readable {
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

/**
 * Buffers an identity-coded body, the common case, with four listeners and no flow control:
 * the limit bounds what is held. Same failures as the pump: 413 past the limit (the rest is
 * discarded), 400 when the body is cut short.
 *
 * The listeners stay on the request once it settled, guarded by `done`: a finished request
 * emits nothing but 'close', and removing them costs more than the guard (removing an event's
 * last listener deletes a key from node's listener table, which makes it a dictionary).
 */
function collectPlain(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      // Reading on discards the rest, as node does for a body nobody read.
      if (!req.readableEnded) req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err: unknown) => fail(cutShort(err)));
    req.on('close', () => {
      if (!req.readableEnded) fail(cutShort());
    });
  });
}

/**
 * The whole decoded body as one Buffer, held to `limit`: 413 for a declared length over it
 * (before a byte is read) or for bytes past it, 415 for an unknown Content-Encoding.
 */
export function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  const coding = req.headers['content-encoding'];
  if (coding === undefined || coding === '' || coding.toLowerCase() === 'identity') {
    return collectPlain(req, limit);
  }
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
