/**
 * @module wirekit/server/compress
 * Opt-in response compression: br or gzip by the client's Accept-Encoding, for compressible
 * types above a size threshold. Buffered bodies keep their Content-Length.
 */
import type * as Zlib from 'node:zlib';

/** node:zlib, loaded when a response is first compressed: apps without compression never load it. */
const zlib = (): typeof Zlib => process.getBuiltinModule('node:zlib');

/** Options for the app's `compression`. */
export interface CompressionOptions {
  /** Smallest body (bytes) worth compressing. **Default:** `1024`. */
  threshold?: number;
  /** Encodings offered, in order of preference. **Default:** `['br', 'gzip']`. */
  encodings?: Array<'br' | 'gzip'>;
}

export const compressionDefaults: Required<CompressionOptions> = {
  threshold: 1024,
  encodings: ['br', 'gzip'],
};

// Text-like types compress; images, video and archives are compressed already.
const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|[\w.+-]+\+(json|xml))|image\/svg\+xml)/;

/** The encoding to use for a response of `type` given the request's Accept-Encoding, if any. */
export function chooseEncoding(
  settings: Required<CompressionOptions>,
  acceptEncoding: string | undefined,
  type: string | undefined,
): 'br' | 'gzip' | undefined {
  if (acceptEncoding === undefined || type === undefined || !COMPRESSIBLE.test(type)) return undefined;
  const accepted = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    accepted.set(name, q === undefined ? 1 : Number(q));
  }
  for (const encoding of settings.encodings) {
    const q = accepted.get(encoding) ?? accepted.get('*');
    if (q !== undefined && q > 0) return encoding;
  }
  return undefined;
}

/** Compresses a whole body. Brotli at quality 4: near gzip's speed, smaller output. */
export function compressBody(encoding: 'br' | 'gzip', body: Buffer): Promise<Buffer> {
  const z = zlib();
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err === null ? resolve(out) : reject(err));
    if (encoding === 'br')
      z.brotliCompress(body, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 4 } }, done);
    else z.gzip(body, { level: 6 }, done);
  });
}

/** A compressing transform for streamed bodies. */
export function compressStream(encoding: 'br' | 'gzip'): Zlib.BrotliCompress | Zlib.Gzip {
  const z = zlib();
  return encoding === 'br'
    ? z.createBrotliCompress({ params: { [z.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : z.createGzip({ level: 6 });
}
