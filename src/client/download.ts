/**
 * @module wirekit/client/download
 * `session.download()`: a response body streamed to a file, written aside and renamed into place
 * (never half a file under the final name), resumable with `Range` + `If-Range`, with throttled
 * progress events. Bytes are stored as served: never decompressed.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HttpStatusError } from '../errors.js';
import { mergeHeaders } from './options.js';
import type { Response } from './response.js';
import type { Session, VerbOptions } from './session.js';

/** One progress event. */
export interface DownloadProgress {
  /** Bytes in the file so far (a resumed download starts at the size of the partial file). */
  transferred: number;
  /** The full size, from Content-Length or Content-Range; `undefined` when the server did not say. */
  total: number | undefined;
  /** `transferred / total * 100`, or `undefined` without a total. */
  percent: number | undefined;
}

/** Options of {@link Session.download}: a GET's options, plus these. */
export interface DownloadOptions extends Omit<
  VerbOptions,
  'json' | 'form' | 'multipart' | 'body' | 'decompress' | 'maxBodySize' | 'throwHttpErrors'
> {
  /** Called with the progress, at most every `progressInterval` ms, and once at the end. **Default:** none. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Called with the response whose body is about to be written (after the path was chosen). **Default:** none. */
  onResponse?: (response: Response, path: string) => void;
  /** Minimum ms between two progress events. **Default:** `100`. */
  progressInterval?: number;
  /**
   * Continue a partial file an earlier failed attempt left (`PATH.part`, with its validator in
   * `PATH.part.json`), asking for the rest with `Range` and `If-Range`; and keep the partial file
   * when this attempt fails. Needs a string path. **Default:** `false`.
   */
  resume?: boolean;
}

/** What a finished download resolves with. */
export interface DownloadResult {
  /** The absolute path of the file. */
  path: string;
  /** The size of the file. */
  bytes: number;
  /** The status of the final response: 200 (or another 2xx), 206 when resumed, 416 when the partial file was already complete. */
  status: number;
  /** Whether bytes from an earlier attempt were kept. */
  resumed: boolean;
}

/** Where the path of a download comes from: fixed, or chosen from the response (its headers, its URL). */
export type DownloadTarget = string | ((response: Response) => string);

export const downloadDefaults = {
  onProgress: undefined,
  onResponse: undefined,
  progressInterval: 100,
  resume: false,
} satisfies Pick<DownloadOptions, 'onProgress' | 'onResponse' | 'progressInterval' | 'resume'>;

/** What `PATH.part.json` holds: enough to ask for the rest of the same representation. */
interface PartialMeta {
  url: string;
  /** A strong ETag, or a Last-Modified date: the If-Range value. */
  validator: string;
}

interface Partial {
  size: number;
  validator: string;
}

const CONTENT_RANGE = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i;

/** `{ start, total }` of a `Content-Range` (start undefined for `*`), or undefined when it does not parse. */
function contentRange(
  value: string | undefined,
): { start: number | undefined; total: number | undefined } | undefined {
  const m = value === undefined ? null : CONTENT_RANGE.exec(value.trim());
  if (m === null) return undefined;
  return {
    start: m[1] === undefined ? undefined : Number(m[1]),
    total: m[3] === '*' ? undefined : Number(m[3]),
  };
}

/** The If-Range value a response allows: a strong ETag, else Last-Modified (RFC 9110 §13.1.5). */
function validatorOf(res: Response): string | undefined {
  const etag = res.header('etag');
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  return res.header('last-modified');
}

async function readPartial(part: string, meta: string, url: string): Promise<Partial | undefined> {
  let size: number;
  let saved: PartialMeta;
  try {
    size = (await stat(part)).size;
    saved = JSON.parse(await readFile(meta, 'utf8')) as PartialMeta;
  } catch {
    return undefined;
  }
  if (size === 0 || saved.url !== url || typeof saved.validator !== 'string') return undefined;
  return { size, validator: saved.validator };
}

async function remove(...paths: string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}

/** Throttles progress events to one per `interval` ms, plus a last one. */
class Progress {
  readonly #callback: ((progress: DownloadProgress) => void) | undefined;
  readonly #interval: number;
  readonly #total: number | undefined;
  #last = -Infinity;
  #sent = -1;

  constructor(callback: DownloadOptions['onProgress'], interval: number, total: number | undefined) {
    this.#callback = callback;
    this.#interval = interval;
    this.#total = total;
  }

  update(transferred: number, last = false): void {
    if (this.#callback === undefined) return;
    const now = performance.now();
    if (last ? transferred === this.#sent : now - this.#last < this.#interval) return;
    this.#last = now;
    this.#sent = transferred;
    const total = this.#total;
    this.#callback({
      transferred,
      total,
      percent: total === undefined ? undefined : total === 0 ? 100 : (transferred / total) * 100,
    });
  }
}

/**
 * Downloads `url` to `target` with `session`; see {@link Session.download}.
 * @internal Use the session's method.
 */
export async function download(
  session: Session,
  url: string | URL,
  target: DownloadTarget,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const { onProgress, onResponse, progressInterval, resume, ...request } = {
    ...downloadDefaults,
    ...options,
  };
  if (typeof target !== 'string' && typeof target !== 'function') {
    throw new TypeError('download path must be a string or a function of the response');
  }
  if (resume && typeof target !== 'string') throw new TypeError('resume needs a string path');
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError('onProgress must be a function');
  }
  if (typeof progressInterval !== 'number' || !(progressInterval >= 0)) {
    throw new RangeError(`progressInterval must be a number of ms >= 0, got ${String(progressInterval)}`);
  }
  const href = String(url);
  const fixed = typeof target === 'string' ? resolvePath(target) : undefined;
  const part = fixed === undefined ? undefined : `${fixed}.part`;
  const meta = `${part}.json`;
  let partial = resume && part !== undefined ? await readPartial(part, meta, href) : undefined;
  if (resume && partial === undefined && part !== undefined) await remove(part, meta);

  let res = await get(session, url, request, partial);
  let append = false;
  if (partial !== undefined) {
    const range = contentRange(res.header('content-range'));
    if (res.status === 206 && range?.start === partial.size) {
      append = true;
    } else if (res.status === 416 && range?.start === undefined && range?.total === partial.size) {
      // The validator matched (else the answer is a 200) and nothing is past our last byte.
      onResponse?.(res, fixed!);
      await res.dump();
      new Progress(onProgress, progressInterval, partial.size).update(partial.size, true);
      await rename(part!, fixed!);
      await remove(meta);
      return { path: fixed!, bytes: partial.size, status: 416, resumed: true };
    } else if (res.status === 206 || res.status === 416) {
      // A range we did not ask for, or a size that is not ours: the partial file cannot be trusted.
      await res.dump();
      await remove(part!, meta);
      partial = undefined;
      res = await get(session, url, request, undefined);
    }
    // Any other status (a 200 when If-Range did not match): start over below.
  }
  if (res.status < 200 || res.status >= 300 || (res.status === 206 && !append)) {
    await res.buffer();
    throw new HttpStatusError(res);
  }

  let path: string;
  try {
    path = fixed ?? resolvePath((target as (response: Response) => string)(res));
    onResponse?.(res, path);
  } catch (err) {
    await res.dump();
    throw err;
  }
  const temp = part ?? `${path}.${randomBytes(6).toString('hex')}.part`;
  const validator = resume ? validatorOf(res) : undefined;
  const keep = append || validator !== undefined;
  let total: number | undefined;
  if (res.status === 206) {
    total = contentRange(res.header('content-range'))?.total;
  } else {
    const length = Number(res.header('content-length'));
    total = res.header('content-length') !== undefined && Number.isSafeInteger(length) ? length : undefined;
  }
  let transferred = append ? partial!.size : 0;
  const progress = new Progress(onProgress, progressInterval, total);
  try {
    if (!append && validator !== undefined) {
      await writeFile(meta, JSON.stringify({ url: href, validator } satisfies PartialMeta));
    }
    progress.update(transferred);
    // `flush`: the bytes are on disk before the rename makes them the file.
    await pipeline(
      async function* () {
        for await (const chunk of res.body) {
          transferred += chunk.length;
          yield chunk;
          progress.update(transferred);
        }
      },
      createWriteStream(temp, { flags: append ? 'a' : 'w', flush: true }),
    );
  } catch (err) {
    if (!res.bodyUsed) await res.dump();
    // A partial file is worth keeping only when a validator can tell whether it still matches.
    if (!(resume && keep && transferred > 0)) await remove(temp, ...(resume ? [meta] : []));
    throw err;
  }
  await rename(temp, path);
  if (resume) await remove(meta);
  progress.update(transferred, true);
  return { path, bytes: transferred, status: res.status, resumed: append };
}

/** The GET of a download: bytes as served, no total timeout, and the range when resuming. */
function get(
  session: Session,
  url: string | URL,
  request: Omit<DownloadOptions, 'onProgress' | 'onResponse' | 'progressInterval' | 'resume'>,
  partial: Partial | undefined,
): Promise<Response> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (request.headers !== undefined) mergeHeaders(headers, request.headers);
  if (partial !== undefined) {
    headers.range = `bytes=${partial.size}-`;
    headers['if-range'] = partial.validator;
  }
  return session.get(url, {
    ...request,
    headers,
    decompress: false,
    throwHttpErrors: false,
    timeout: { total: 0, ...request.timeout },
  });
}
