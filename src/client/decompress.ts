/**
 * @module wirekit/client/decompress
 * Decodes a response body's Content-Encoding (gzip, deflate, br; at most 5 stacked) with
 * node:zlib streams, so memory stays bounded by stream buffers whatever the ratio.
 */
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { ContentEncodingError } from '../errors.js';

/** More stacked encodings than this is an attack, not a server. */
export const MAX_CONTENT_ENCODINGS = 5;

// zlib's flush modes as browsers use them: a body cut at a flush point still decodes what came.
const gzipOptions = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const brotliOptions = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

const KNOWN = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

function decoder(coding: string): Transform | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(gzipOptions);
    case 'deflate':
      return new Inflate();
    case 'br':
      return zlib.createBrotliDecompress(brotliOptions);
    default:
      return undefined;
  }
}

/**
 * `deflate` as browsers and curl take it: the zlib format RFC 9110 names, or the raw deflate
 * some servers send instead. The first two bytes tell them apart: a zlib header has compression
 * method 8 in its low nibble and, read as a 16-bit number, is a multiple of 31.
 */
class Inflate extends Transform {
  #inner: zlib.Inflate | zlib.InflateRaw | undefined;
  /** The first byte, while the second has not come. */
  #head: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#inner === undefined) {
      const head = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
      if (head.length < 2) {
        this.#head = head;
        done();
        return;
      }
      this.#start(head);
      chunk = head;
    }
    if (this.#inner!.write(chunk)) done();
    else this.#inner!.once('drain', done);
  }

  override _flush(done: TransformCallback): void {
    if (this.#inner === undefined) {
      if (this.#head === undefined) return done();
      this.#start(this.#head);
      this.#inner!.write(this.#head);
    }
    this.#inner!.once('end', () => done());
    this.#inner!.end();
  }

  override _read(size: number): void {
    super._read(size);
    // Output is wanted again: let the paused decoder go on.
    this.#inner?.resume();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    this.#inner?.destroy();
    done(err);
  }

  #start(head: Buffer): void {
    const wrapped = (head[0]! & 0x0f) === 8 && head.length >= 2 && ((head[0]! << 8) | head[1]!) % 31 === 0;
    const inner = wrapped ? zlib.createInflate(gzipOptions) : zlib.createInflateRaw(gzipOptions);
    inner.on('data', (data: Buffer) => {
      // Backpressure: a small body that inflates to gigabytes waits for its reader.
      if (!this.push(data)) inner.pause();
    });
    inner.on('error', (err) => this.destroy(err));
    this.#inner = inner;
  }
}

/**
 * The codings to undo, outermost first, or undefined when the body is to be left as is
 * (no encoding, identity, or a coding wirekit does not know).
 * Throws ContentEncodingError past {@link MAX_CONTENT_ENCODINGS}.
 */
export function codingsOf(header: string | string[] | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text === '' || text === 'identity') return undefined;
  const codings: string[] = [];
  for (const raw of text.split(',')) {
    const coding = raw.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    codings.push(coding);
    if (codings.length > MAX_CONTENT_ENCODINGS) {
      throw new ContentEncodingError(text, `more than ${MAX_CONTENT_ENCODINGS} stacked encodings`);
    }
  }
  for (const coding of codings) if (!KNOWN.has(coding)) return undefined;
  return codings.length === 0 ? undefined : codings.reverse();
}

function ignore(): void {}

/** `body` piped through a decoder for each coding (outermost first). */
export function decode(body: Readable, codings: readonly string[]): Readable {
  const streams: (Readable | Transform)[] = [body];
  for (const coding of codings) streams.push(decoder(coding)!);
  return pipeline(streams as [Readable, Transform], ignore) as unknown as Readable;
}

const ZLIB_CODES = /^(Z_|ERR_BROTLI|ERR__ERROR_FORMAT)/;

/** ContentEncodingError for a decoder's failure; anything else unchanged. */
export function decodeError(err: unknown, codings: readonly string[] | undefined): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (codings !== undefined && typeof code === 'string' && ZLIB_CODES.test(code)) {
    return new ContentEncodingError(codings.join(', '), (err as Error).message, err);
  }
  return err;
}
