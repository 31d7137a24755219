/**
 * @module wirekit/client/decompress
 * Decodes a response body's Content-Encoding (gzip, deflate, br; at most 5 stacked) with
 * node:zlib streams, so memory stays bounded by stream buffers whatever the ratio.
 */
import { pipeline, type Readable, type Transform } from 'node:stream';
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

function decoder(coding: string): Transform | undefined {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(gzipOptions);
    case 'deflate':
      return zlib.createInflate(gzipOptions);
    case 'br':
      return zlib.createBrotliDecompress(brotliOptions);
    default:
      return undefined;
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
  for (const coding of codings) if (decoder(coding) === undefined) return undefined;
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
