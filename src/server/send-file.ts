/**
 * @module wirekit/server/send-file
 * `sendFile()`: one file as the response to a node:http request, with validators (ETag,
 * Last-Modified), conditional requests (304, 412), byte ranges (206, 416, multipart), HEAD,
 * Cache-Control and precompressed `.br`/`.gz` siblings. The body is streamed, and a client that
 * goes away closes the file.
 */
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { finished } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  acceptedCodings,
  type ByteRange,
  type Coding,
  coalesce,
  preconditions,
  requestedRanges,
} from './conditional.js';
import { forbidden, notFound } from './errors.js';
import { contentTypeFor } from './mime.js';

/** A response header value, as node:http takes it. */
export type HeaderValue = string | number | string[] | undefined;

/** Options for {@link sendFile}. */
export interface SendFileOptions {
  /**
   * How long, in whole seconds, clients and caches may reuse the file without asking again:
   * `Cache-Control: public, max-age=<maxAge>`. **Default:** `0` (they revalidate every time,
   * which the ETag makes cheap: a 304 without a body).
   */
  maxAge?: number;
  /**
   * Adds `immutable` to Cache-Control, for file names that change whenever their content
   * does (`app.3f2a9c.js`). **Default:** `false`.
   */
  immutable?: boolean;
  /**
   * Extra response headers, sent with 200, 206 and 304 responses (names in any case; a
   * string array sends the header several times, as `Set-Cookie` needs). They may override
   * `Cache-Control`, and `Content-Type` works like `contentType`. The headers computed from the
   * file (Content-Length, Content-Range, Content-Encoding, Transfer-Encoding, ETag,
   * Last-Modified) cannot be set here: that is a TypeError. An `undefined` value is skipped.
   * **Default:** `{}`.
   */
  headers?: Record<string, HeaderValue>;
  /**
   * Serve `<path>.br` or `<path>.gz` instead of `<path>` when the client's Accept-Encoding
   * allows it (brotli first at equal quality), with `Content-Encoding`, `Vary: Accept-Encoding`
   * and the Content-Type of `<path>`. A sibling older than `<path>` is stale and skipped.
   * **Default:** `false`.
   */
  precompressed?: boolean;
  /** The Content-Type to send, as is. **Default:** from the extension (see `contentTypeFor`). */
  contentType?: string | undefined;
}

/** The defaults of {@link SendFileOptions}, every key present. */
export const sendFileDefaults = {
  maxAge: 0,
  immutable: false,
  headers: Object.freeze({}) as Record<string, HeaderValue>,
  precompressed: false,
  contentType: undefined,
} satisfies SendFileOptions;

/**
 * Sends the file at `path` as the response to `req`: 200 with the body (none for HEAD), 206
 * for a satisfiable `Range`, 304 when the client's copy is current, 412 when an `If-Match` or
 * `If-Unmodified-Since` fails, 416 for a range past the end (with `Content-Range: bytes
 * *\/<size>`). Several ranges are answered with `multipart/byteranges` (overlapping ones merged
 * first), except on a precompressed variant, which gets the whole body.
 *
 * `path` is trusted: it is resolved against the working directory and served whatever it
 * points at. Never build it from the request; serve user-chosen paths with `createStatic`.
 *
 * Resolves when the response finished, or when the client went away (the file is closed
 * either way). Rejects, before anything was written, with an `HttpError` 404 when there is no
 * regular file at `path` (missing, a directory, a socket...) and 403 when the system denies
 * reading it, so the app answers them like any handler's error. Rejects with the cause, after
 * destroying the response, when reading fails mid-body or the file shrank while being sent.
 *
 * @example
 * import { createServer } from 'node:http';
 * createServer((req, res) => {
 *   sendFile(req, res, './public/report.pdf', { maxAge: 3600 }).catch((err) => {
 *     res.writeHead(err.status ?? 500).end();
 *   });
 * });
 */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: SendFileOptions = {},
): Promise<void> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`sendFile: path must be a non-empty string, got ${describe(path)}`);
  }
  const settings = fileSettings(options, 'sendFile');
  const outcome = await serveFile(req, res, resolvePath(path), settings);
  if (outcome !== 'sent') throw notFound();
}

/** @internal Options checked once and turned into what every response needs. */
export interface FileSettings {
  cacheControl: string;
  /** Lower-cased names, so they replace rather than duplicate the computed ones. */
  headers: Record<string, HeaderValue>;
  precompressed: boolean;
  contentType: string | undefined;
}

/** Headers sendFile computes from the file itself; options cannot set them. */
const COMPUTED_HEADERS = new Set([
  'content-length',
  'content-range',
  'content-encoding',
  'transfer-encoding',
  'etag',
  'last-modified',
]);

/** @internal Validates `options` (TypeError/RangeError naming `caller`) and precomputes headers. */
export function fileSettings(options: SendFileOptions, caller: string): FileSettings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${caller}: options must be an object, got ${describe(options)}`);
  }
  const o = { ...sendFileDefaults, ...options };
  if (typeof o.maxAge !== 'number') {
    throw new TypeError(`${caller}: maxAge must be a number of seconds, got ${describe(o.maxAge)}`);
  }
  if (!Number.isInteger(o.maxAge) || o.maxAge < 0) {
    throw new RangeError(`${caller}: maxAge must be a whole number of seconds >= 0, got ${o.maxAge}`);
  }
  for (const key of ['immutable', 'precompressed'] as const) {
    if (typeof o[key] !== 'boolean') {
      throw new TypeError(`${caller}: ${key} must be a boolean, got ${describe(o[key])}`);
    }
  }
  if (o.contentType !== undefined) {
    if (typeof o.contentType !== 'string' || o.contentType === '') {
      throw new TypeError(
        `${caller}: contentType must be a non-empty string, got ${describe(o.contentType)}`,
      );
    }
    validateHeaderValue('content-type', o.contentType);
  }
  if (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers)) {
    throw new TypeError(`${caller}: headers must be an object of strings, got ${describe(o.headers)}`);
  }
  const headers: Record<string, HeaderValue> = {};
  let contentType = o.contentType;
  for (const [name, value] of Object.entries(o.headers as Record<string, unknown>)) {
    // node's OutgoingHttpHeaders allows undefined for "not set".
    if (value === undefined) continue;
    validateHeaderName(name);
    const ok =
      typeof value === 'string' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'));
    if (!ok) {
      throw new TypeError(
        `${caller}: header ${name} must be a string, number or string array, got ${describe(value)}`,
      );
    }
    for (const one of Array.isArray(value) ? value : [value]) validateHeaderValue(name, String(one));
    const lower = name.toLowerCase();
    if (COMPUTED_HEADERS.has(lower)) {
      throw new TypeError(`${caller}: ${name} is computed from the file and cannot be set in headers`);
    }
    // One Content-Type, whichever way it was given; the explicit option wins.
    if (lower === 'content-type') contentType ??= String(value);
    else headers[lower] = value as HeaderValue;
  }
  return {
    cacheControl: `public, max-age=${o.maxAge}${o.immutable ? ', immutable' : ''}`,
    headers,
    precompressed: o.precompressed,
    contentType,
  };
}

/** @internal What {@link serveFile} found at the path. */
export type FileOutcome = 'sent' | 'missing' | 'directory';

/** @internal How static narrows {@link serveFile}. */
export interface ServeHooks {
  /** The path to open (static passes the realpath it checked); `path` still names the file. */
  openPath?: string;
  /** Whether a precompressed sibling (which may be a symlink) may be served. */
  variantAllowed?: (path: string) => Promise<boolean>;
}

interface OpenFile {
  handle: FileHandle;
  stats: Stats;
}

const SUFFIX: Record<Coding, string> = { br: '.br', gzip: '.gz' };

/**
 * O_NONBLOCK so that opening a FIFO returns at once (and fstat turns it away) instead of
 * holding a thread-pool thread until a writer shows up; regular files ignore the flag.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * @internal Answers `req` with the regular file at `path`, or reports that there is none
 * ('missing', 'directory') without writing anything.
 */
export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  settings: FileSettings,
  hooks: ServeHooks = {},
): Promise<FileOutcome> {
  const identity = await openFile(hooks.openPath ?? path);
  if (typeof identity === 'string') return identity;
  let file = identity;
  let coding: Coding | undefined;
  try {
    if (settings.precompressed) {
      for (const candidate of acceptedCodings(req.headers['accept-encoding'])) {
        const variant = await openVariant(path + SUFFIX[candidate], identity.stats, hooks);
        if (variant === undefined) continue;
        file = variant;
        coding = candidate;
        await identity.handle.close();
        break;
      }
    }
  } catch (err) {
    await identity.handle.close().catch(() => {});
    throw err;
  }
  await respond(req, res, file, settings, settings.contentType ?? contentTypeFor(path), coding);
  return 'sent';
}

/** A precompressed sibling that exists, is a regular file, is allowed and is not stale. */
async function openVariant(path: string, original: Stats, hooks: ServeHooks): Promise<OpenFile | undefined> {
  let variant: OpenFile | FileOutcome;
  try {
    variant = await openFile(path);
  } catch {
    // An unreadable sibling is no reason to fail: the original is still there to send.
    return undefined;
  }
  if (typeof variant === 'string') return undefined;
  const usable =
    variant.stats.mtimeMs >= original.mtimeMs &&
    (hooks.variantAllowed === undefined || (await hooks.variantAllowed(path).catch(() => false)));
  if (usable) return variant;
  await variant.handle.close();
  return undefined;
}

/** System codes that mean "nothing to serve at this path". */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EISDIR']);

/** @internal Whether a file-system error means there is nothing at the path. */
export function isMissing(err: unknown): boolean {
  return MISSING.has((err as { code?: string } | null)?.code ?? '');
}

/** @internal Whether a file-system error means the system refused access. */
export function isDenied(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** Opens `path` and fstats the descriptor, so the file cannot vanish between the two. */
async function openFile(path: string): Promise<OpenFile | FileOutcome> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    if (isMissing(err)) return 'missing';
    if (isDenied(err)) throw forbidden(undefined, { cause: err });
    throw err;
  }
  let stats: Stats;
  try {
    stats = await handle.stat();
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
  if (stats.isFile()) return { handle, stats };
  await handle.close();
  return stats.isDirectory() ? 'directory' : 'missing';
}

/** Writes the response for an open file and closes the file, whatever happens. */
async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  file: OpenFile,
  settings: FileSettings,
  contentType: string,
  coding: Coding | undefined,
): Promise<void> {
  const { handle, stats } = file;
  const size = stats.size;
  let streaming = false;
  try {
    // nginx's validator: mtime and size. Milliseconds rather than its seconds, so a rewrite
    // of the same length within one second still changes it.
    const etag = `"${Math.floor(stats.mtimeMs).toString(16)}-${size.toString(16)}"`;
    const lastModified = stats.mtime.toUTCString();
    const headers: OutgoingHttpHeaders = {
      'cache-control': settings.cacheControl,
      ...settings.headers,
      etag,
      'last-modified': lastModified,
    };
    if (settings.precompressed) {
      headers.vary = withAcceptEncoding(settings.headers.vary ?? res.getHeader('vary'));
    }
    const status = preconditions(req, etag, stats.mtimeMs);
    if (status === 304) {
      res.writeHead(304, headers);
      res.end();
      return await settled(res);
    }
    if (status === 412) return await plain(res, 412, {});

    headers['content-type'] = contentType;
    headers['accept-ranges'] = 'bytes';
    if (coding !== undefined) headers['content-encoding'] = coding;
    const ranges = requestedRanges(req, etag, stats.mtimeMs, size);
    if (ranges === 'unsatisfiable') {
      return await plain(res, 416, { 'content-range': `bytes */${size}`, 'accept-ranges': 'bytes' });
    }
    const merged = ranges === undefined ? undefined : coalesce(ranges);
    // A multipart body cannot carry one Content-Encoding for all its parts.
    if (merged === undefined || (merged.length > 1 && coding !== undefined)) {
      headers['content-length'] = size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD' || size === 0) {
        res.end();
        return await settled(res);
      }
      streaming = true;
      return await streamRange(res, handle, 0, size - 1);
    }
    const [only] = merged;
    if (merged.length === 1 && only !== undefined) {
      headers['content-range'] = `bytes ${only.start}-${only.end}/${size}`;
      headers['content-length'] = only.end - only.start + 1;
      res.writeHead(206, headers);
      streaming = true;
      return await streamRange(res, handle, only.start, only.end);
    }
    await streamMultipart(res, handle, headers, merged, contentType, size);
  } finally {
    // streamRange hands the descriptor to its read stream, which closes it.
    if (!streaming) await handle.close();
  }
}

/** Adds Accept-Encoding to a Vary value already set by middleware or options. */
function withAcceptEncoding(existing: number | string | string[] | undefined): string {
  const current = Array.isArray(existing)
    ? existing.join(', ')
    : existing === undefined
      ? ''
      : String(existing);
  if (current.trim() === '') return 'Accept-Encoding';
  if (/(?:^|,)\s*(?:\*|accept-encoding)\s*(?:,|$)/i.test(current)) return current;
  return `${current}, Accept-Encoding`;
}

/**
 * Streams bytes `start..end` and closes the file (the read stream owns it). Resolves once the
 * file is closed, also when the client went away.
 */
async function streamRange(
  res: ServerResponse,
  handle: FileHandle,
  start: number,
  end: number,
): Promise<void> {
  const source = handle.createReadStream({ start, end });
  const closed = new Promise<void>((resolve) => source.once('close', resolve));
  let shrank = false;
  source.once('end', () => {
    // Ending short would leave the client waiting for bytes that never come.
    if (source.bytesRead < end - start + 1) {
      shrank = true;
      res.destroy();
    }
  });
  let failure: unknown;
  try {
    await pipeline(source, res);
  } catch (err) {
    // Anything but a read error is the client going away: not an error of ours.
    if (source.errored === err) failure = err;
  } finally {
    await closed;
  }
  if (shrank) throw new Error('the file shrank while it was being sent');
  if (failure !== undefined) throw failure;
}

const CHUNK = 64 * 1024;

/** A `multipart/byteranges` body (RFC 9110 §14.6), its length computed up front. */
async function streamMultipart(
  res: ServerResponse,
  handle: FileHandle,
  headers: OutgoingHttpHeaders,
  ranges: ByteRange[],
  contentType: string,
  size: number,
): Promise<void> {
  const boundary = `wirekit-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map((r, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${contentType}\r\n` +
        `content-range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`,
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let length = tail.length;
  for (const [i, r] of ranges.entries()) length += (heads[i] as Buffer).length + r.end - r.start + 1;
  headers['content-type'] = `multipart/byteranges; boundary=${boundary}`;
  headers['content-length'] = length;
  res.writeHead(206, headers);
  let shrank = false;
  async function* body(): AsyncGenerator<Buffer> {
    for (const [i, r] of ranges.entries()) {
      yield heads[i] as Buffer;
      for (let position = r.start; position <= r.end;) {
        const want = Math.min(CHUNK, r.end - position + 1);
        const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, position);
        if (bytesRead === 0) {
          shrank = true;
          throw new Error('the file shrank while it was being sent');
        }
        yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
        position += bytesRead;
      }
    }
    yield tail;
  }
  try {
    await pipeline(body, res);
  } catch (err) {
    // Reading failed or the file shrank: ours. Anything else is the client going away.
    if (shrank || !isClientGone(err)) throw err;
  }
}

/** Errors a response stream reports when the client closed the connection under it. */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ECONNRESET', 'EPIPE']);

function isClientGone(err: unknown): boolean {
  return CLIENT_GONE.has((err as { code?: string } | null)?.code ?? '');
}

/** A short text answer (412, 416) with `extra` headers; no body for HEAD. */
function plain(res: ServerResponse, status: number, extra: OutgoingHttpHeaders): Promise<void> {
  const body = `${STATUS_CODES[status]}\n`;
  res.writeHead(status, {
    ...extra,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
  return settled(res);
}

/** Resolves once the response finished or was torn down. */
function settled(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => finished(res, () => resolve()));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
