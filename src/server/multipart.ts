/**
 * @module wirekit/server/multipart
 * `readMultipart()`: a `multipart/form-data` body as an async iterator of fields and file
 * streams (busboy underneath), with every limit enforced as an error and temp files that a
 * `cleanup()` at the end of the request always removes.
 */
import type busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { parseMediaType } from '../http/media-type.js';
import { bodyStream, checkSize } from './body.js';
import { CLOSE } from './body-pump.js';
import { badRequest, contentTooLarge, HttpError, unsupportedMediaType } from './errors.js';

/** Options for {@link readMultipart}. Every limit breached is a 413 `HttpError`. */
export interface MultipartOptions {
  /**
   * Most bytes the whole body may have, on the wire and decoded. Uploads need more room than
   * the 1 MiB other bodies get, so multipart has its own. **Default:** `67_108_864` (64 MiB).
   */
  limit?: number;
  /** Most parts (fields and files together). **Default:** `1000`. */
  maxParts?: number;
  /** Most bytes in one file. **Default:** `10_485_760` (10 MiB). */
  maxFileSize?: number;
  /** Most bytes in one field's value. **Default:** `1_048_576` (1 MiB). */
  maxFieldSize?: number;
  /** Most non-file fields. **Default:** `1000`. */
  maxFields?: number;
  /** Most files. **Default:** `10`. */
  maxFiles?: number;
  /** Where `toTempFile()` makes its per-request directory. **Default:** `os.tmpdir()`. */
  tmpDir?: string;
}

export const multipartDefaults = {
  limit: 64 * 1024 * 1024,
  maxParts: 1000,
  maxFileSize: 10 * 1024 * 1024,
  maxFieldSize: 1024 * 1024,
  maxFields: 1000,
  maxFiles: 10,
  tmpDir: tmpdir(),
} satisfies Required<MultipartOptions>;

/** A non-file part. */
export interface FieldPart {
  readonly kind: 'field';
  readonly name: string;
  readonly value: string;
  /** The part's Content-Type (`text/plain` when it has none). */
  readonly mimeType: string;
}

/** Where a saved file landed and how many bytes it has. */
export interface SavedFile {
  path: string;
  size: number;
}

/**
 * A file part. Read `stream`, save it or skip it before asking for the next part: one read that
 * is still going on (a save, a pipe, a `for await`) is waited for; a file nobody reads is
 * skipped, and reading or saving it later is an error rather than an empty file.
 */
export interface FilePart {
  readonly kind: 'file';
  readonly name: string;
  /** The client's file name without any directory, `''` when it sent none. Never trust it as a path. */
  readonly filename: string;
  readonly mimeType: string;
  /**
   * The file's bytes. It fails (413) rather than end early when the file is too large, and with
   * a TypeError when it was skipped.
   */
  readonly stream: Readable;
  /**
   * Streams the file to a new file with a random name in `dir` (mode 0600). It is a temp file
   * like `toTempFile()`'s: `cleanup()` removes it unless you moved it away first. Pick a `dir`
   * on the filesystem of the final destination and `rename()` is atomic. A file can be saved
   * once, and not after its stream was read: a TypeError then.
   */
  saveTo(dir: string): Promise<SavedFile>;
  /** Like `saveTo()`, into this request's temp directory (made under `tmpDir` on first use). */
  toTempFile(): Promise<SavedFile>;
  /** Discards the file; the body reads on past it. Limits still apply to the skipped bytes. */
  skip(): Promise<void>;
}

export type Part = FieldPart | FilePart;

/** What {@link readMultipart} returns. */
export interface MultipartReader extends AsyncIterable<Part> {
  /**
   * Stops reading, waits for saves under way, and removes every file that `saveTo()` or
   * `toTempFile()` wrote and that is still where it was written, and the temp directory. Call
   * it once the request is over, in a `finally`; calling it again does nothing more.
   */
  cleanup(): Promise<void>;
}

// busboy is loaded with the first multipart body: an app that takes none does not carry it.
const require = createRequire(import.meta.url);
let loadedBusboy: typeof busboy | undefined;
const parserFor = (config: busboy.BusboyConfig): busboy.Busboy =>
  (loadedBusboy ??= require('busboy') as typeof busboy)(config);

/** A finite size limit plus one (busboy reports reaching a limit, not passing it), or none. */
const past = (limit: number): number | undefined => (limit === Infinity ? undefined : limit + 1);

/** How many parsed parts may wait for the consumer before the body is paused. */
const QUEUE_HIGH_WATER = 64;

/**
 * A file part. Its `stream` is a PassThrough fed from busboy's, so that wirekit can end it with
 * an error when it is skipped or over a limit while busboy's own stream is drained on: busboy
 * waits forever on a file stream that is destroyed instead of read.
 */
class FilePartImpl implements FilePart {
  readonly kind = 'file';
  readonly stream = new PassThrough();
  readonly #reader: Reader;
  #taken = false;
  #saving = false;

  constructor(
    reader: Reader,
    source: Readable,
    readonly name: string,
    readonly filename: string,
    readonly mimeType: string,
  ) {
    this.#reader = reader;
    // Errors reach whoever reads the stream; unread, it must not crash the process.
    this.stream.on('error', () => {});
    source.on('error', (err: Error) => this.stream.destroy(err));
    source.pipe(this.stream);
    // Given up early (skipped, a `for await` left with break...): busboy's stream is drained.
    this.stream.on('close', () => {
      if (!source.readableEnded) {
        source.unpipe(this.stream);
        source.resume();
      }
    });
  }

  saveTo(dir: string): Promise<SavedFile> {
    if (typeof dir !== 'string' || dir === '') {
      return Promise.reject(new TypeError('saveTo needs a directory path'));
    }
    return this.#save(async () => dir);
  }

  toTempFile(): Promise<SavedFile> {
    return this.#save(() => this.#reader.tempDir());
  }

  async skip(): Promise<void> {
    this.#taken = true;
    if (!this.stream.destroyed) this.stream.destroy();
  }

  /** Whether someone reads the stream now (a save, a pipe, a 'data' listener, a `for await`). */
  get reading(): boolean {
    return this.#saving || this.stream.readableFlowing === true || this.stream.listenerCount('readable') > 0;
  }

  /** Fails the stream with `err`, unless it was read to its end. */
  abandon(err: Error): void {
    this.#taken = true;
    if (!this.stream.destroyed && !this.stream.readableEnded) this.stream.destroy(err);
  }

  /** The rest of the file is over a limit: whoever reads it gets `err`, never a clean end. */
  tooLarge(err: Error): void {
    this.stream.destroy(err);
  }

  #save(where: () => Promise<string>): Promise<SavedFile> {
    if (this.#taken || this.stream.readableDidRead || this.stream.destroyed) {
      return Promise.reject(
        new TypeError(`file ${this.name} was already read or skipped; save it before reading the next part`),
      );
    }
    this.#taken = true;
    this.#saving = true;
    return this.#reader.save(this.stream, where);
  }
}

interface Limits {
  limit: number;
  maxParts: number;
  maxFileSize: number;
  maxFieldSize: number;
  maxFields: number;
  maxFiles: number;
  tmpDir: string;
}

class Reader implements MultipartReader, AsyncIterator<Part> {
  readonly #limits: Limits;
  readonly #parser: busboy.Busboy;
  #body: Readable | undefined;
  readonly #queue: Part[] = [];
  #current: FilePartImpl | undefined;
  readonly #waiting: (() => void)[] = [];
  #parts = 0;
  #complete = false;
  #error: Error | undefined;
  #closed = false;
  #tempDir: Promise<string> | undefined;
  readonly #saves = new Set<Promise<unknown>>();
  readonly #written = new Set<string>();

  constructor(req: IncomingMessage, limits: Limits) {
    this.#limits = limits;
    try {
      this.#parser = parserFor({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: {
          parts: past(limits.maxParts),
          fields: limits.maxFields,
          files: limits.maxFiles,
          fileSize: past(limits.maxFileSize),
          fieldSize: past(limits.maxFieldSize),
        },
      });
    } catch (err) {
      throw badRequest('malformed multipart Content-Type', { cause: err });
    }
    const parser = this.#parser;
    parser.on('field', this.#onField);
    parser.on('file', this.#onFile);
    parser.on('partsLimit', () => this.#fail(this.#tooMany('parts', limits.maxParts)));
    parser.on('fieldsLimit', () => this.#fail(this.#tooMany('fields', limits.maxFields)));
    parser.on('filesLimit', () => this.#fail(this.#tooMany('files', limits.maxFiles)));
    parser.on('drain', this.#flow);
    parser.on('finish', () => {
      this.#complete = true;
      this.#signal();
    });
    parser.on('error', (err: Error) =>
      this.#fail(badRequest(`malformed multipart body: ${err.message}`, { cause: err, headers: CLOSE })),
    );
    // Claimed now, so that a second reader of this body fails at once; read on first next().
    this.#body = bodyStream(req, { limit: limits.limit });
    this.#body.pause();
  }

  [Symbol.asyncIterator](): AsyncIterator<Part> {
    return this;
  }

  async next(): Promise<IteratorResult<Part>> {
    await this.#skipCurrent();
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const part = this.#queue.shift();
      if (part !== undefined) {
        if (part instanceof FilePartImpl) this.#current = part;
        this.#flow();
        return { value: part, done: false };
      }
      if (this.#complete || this.#closed) return { value: undefined, done: true };
      this.#start();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  async return(): Promise<IteratorResult<Part>> {
    if (!this.#complete) this.#stop();
    return { value: undefined, done: true };
  }

  async cleanup(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (!this.#complete) this.#stop();
    }
    while (this.#saves.size > 0) await Promise.allSettled([...this.#saves]);
    const paths = [...this.#written];
    this.#written.clear();
    await Promise.all(paths.map((path) => rm(path, { force: true })));
    const dir = await this.#tempDir?.catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }

  /** The per-request temp directory, made on first use. */
  tempDir(): Promise<string> {
    this.#tempDir ??= mkdtemp(join(this.#limits.tmpDir, 'wirekit-upload-'));
    return this.#tempDir;
  }

  /** Streams `stream` to a new file in the directory `where` gives; tracked for cleanup(). */
  save(stream: Readable, where: () => Promise<string>): Promise<SavedFile> {
    if (this.#closed) return Promise.reject(new Error('the multipart reader was already cleaned up'));
    const saving = (async () => {
      let path: string | undefined;
      let out: WriteStream | undefined;
      try {
        path = join(await where(), `upload-${randomUUID()}`);
        this.#written.add(path);
        out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
        await pipeline(stream, out);
        return { path, size: out.bytesWritten };
      } catch (err) {
        // The file may still be opening; removed once it is closed (and again by cleanup()).
        if (out !== undefined && !out.closed) {
          await new Promise<void>((resolve) => out!.once('close', () => resolve()));
        }
        if (path !== undefined) await rm(path, { force: true });
        // The file is left unread and the body stalls behind it: end the body.
        this.#fail(err instanceof Error ? err : new Error(String(err)));
        throw this.#error ?? err;
      }
    })();
    this.#saves.add(saving);
    const forget = () => this.#saves.delete(saving);
    saving.then(forget, forget);
    return saving;
  }

  #start(): void {
    const body = this.#body;
    if (body === undefined || body.listenerCount('data') > 0) return;
    body.on('data', (chunk: Buffer) => {
      if (!this.#parser.write(chunk)) body.pause();
    });
    body.on('end', () => this.#parser.end());
    body.on('error', (err: Error) => this.#fail(err));
    this.#flow();
  }

  /** Resumes the body unless busboy or the queue of unread parts is full. */
  #flow = (): void => {
    const body = this.#body;
    if (body === undefined || body.listenerCount('data') === 0 || this.#error !== undefined) return;
    if (this.#parser.writableNeedDrain || this.#queue.length >= QUEUE_HIGH_WATER) body.pause();
    else body.resume();
  };

  /**
   * Before the next part: a file someone is reading is waited for; a file nobody reads is
   * skipped, and its stream fails (a later read or save is an error, not an empty file).
   */
  async #skipCurrent(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    if (current === undefined) return;
    if (current.reading) {
      await finished(current.stream).catch(() => {});
    } else {
      current.abandon(new TypeError(`file ${current.name} was skipped: read it before the next part`));
    }
  }

  #onField = (name: string | undefined, value: string, info: busboy.FieldInfo): void => {
    if (!this.#admit(name)) return;
    if (info.valueTruncated) {
      const message = `field ${name} is larger than ${this.#limits.maxFieldSize} bytes`;
      return this.#fail(contentTooLarge(message, { headers: CLOSE }));
    }
    this.#push({ kind: 'field', name: name!, value, mimeType: info.mimeType });
  };

  #onFile = (name: string | undefined, source: Readable, info: busboy.FileInfo): void => {
    source.on('error', () => {});
    if (!this.#admit(name)) {
      source.resume();
      return;
    }
    const part = new FilePartImpl(this, source, name!, info.filename ?? '', info.mimeType);
    source.on('limit', () => {
      const message = `file ${name} is larger than ${this.#limits.maxFileSize} bytes`;
      const err = contentTooLarge(message, { headers: CLOSE });
      // Before busboy can end the file, so no reader sees a cut file end cleanly.
      part.tooLarge(err);
      this.#fail(err);
    });
    this.#push(part);
  };

  #admit(name: string | undefined): boolean {
    if (this.#error !== undefined || this.#closed) return false;
    if (++this.#parts > this.#limits.maxParts) {
      this.#fail(this.#tooMany('parts', this.#limits.maxParts));
      return false;
    }
    if (name === undefined || name === '') {
      this.#fail(badRequest('a multipart part has no name', { headers: CLOSE }));
      return false;
    }
    return true;
  }

  #push(part: Part): void {
    this.#queue.push(part);
    this.#flow();
    this.#signal();
  }

  #tooMany(what: string, max: number): HttpError {
    return contentTooLarge(`the form has more than ${max} ${what}`, { headers: CLOSE });
  }

  #signal(): void {
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** Stops reading: the parts not yet read and the file under way end with an error. */
  #stop(): void {
    this.#fail(new Error('the multipart reader was closed before the body ended'));
  }

  #fail(err: Error): void {
    if (this.#error !== undefined) return;
    this.#error = err;
    // File streams first: busboy's own teardown would end them with a less useful error.
    this.#current?.abandon(err);
    for (const part of this.#queue) if (part instanceof FilePartImpl) part.abandon(err);
    this.#queue.length = 0;
    this.#body?.destroy();
    this.#body = undefined;
    // Not now: this may run inside one of busboy's events, and busboy goes on using the part it
    // was parsing after the event returns, which destroy() would take away under it.
    process.nextTick(() => this.#parser.destroy());
    this.#signal();
  }
}

/**
 * Reads a `multipart/form-data` body part by part:
 *
 * ```ts
 * const form = readMultipart(req);
 * try {
 *   for await (const part of form) {
 *     if (part.kind === 'field') fields[part.name] = part.value;
 *     else uploads.push(await part.toTempFile()); // or read part.stream, or part.skip()
 *   }
 * } finally {
 *   await form.cleanup();
 * }
 * ```
 *
 * A file's bytes come through its `stream` while the body is read, so read it (or save, or
 * `skip()` it) before asking for the next part. Asking for the next part waits for a read under
 * way and skips a file nobody reads, as aiohttp does, so a loop may ignore files. Every limit in {@link MultipartOptions} passed is a 413, never a cut file or a
 * dropped part. A Content-Type other than `multipart/form-data` is a 415; a missing boundary, a
 * malformed or truncated body and a part without a name are 400s. The body is claimed at once
 * (a second reader fails) and read on the first `next()`.
 *
 * Temp files: `saveTo()` and `toTempFile()` write files that `cleanup()` removes, whether the
 * request succeeded, failed or the client went away; move (`rename`) a file to keep it. Call
 * `cleanup()` when the request is over; the app does that for `ctx.multipart()`.
 *
 * @example
 * app.post('/avatar', async (ctx) => {
 *   for await (const part of ctx.multipart({ maxFileSize: 2 * 1024 * 1024 })) {
 *     if (part.kind === 'file' && part.name === 'avatar') {
 *       const { path } = await part.toTempFile();
 *       await rename(path, `avatars/${ctx.user.id}.png`);
 *     }
 *   }
 *   return { ok: true };
 * });
 */
export function readMultipart(req: IncomingMessage, options?: MultipartOptions): MultipartReader {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError('multipart options must be an object');
  }
  const limits: Limits = { ...multipartDefaults };
  for (const key of ['limit', 'maxParts', 'maxFileSize', 'maxFieldSize', 'maxFields', 'maxFiles'] as const) {
    const value = options?.[key];
    if (value !== undefined) limits[key] = checkSize(key, value);
  }
  if (options?.tmpDir !== undefined) {
    if (typeof options.tmpDir !== 'string' || options.tmpDir === '') {
      throw new TypeError('tmpDir must be a non-empty string');
    }
    limits.tmpDir = options.tmpDir;
  }
  const media = parseMediaType(req.headers['content-type']);
  if (media?.type !== 'multipart/form-data') {
    throw unsupportedMediaType('expected a Content-Type of multipart/form-data');
  }
  const boundary = media.params.get('boundary');
  if (boundary === undefined || boundary.length === 0 || boundary.length > 70) {
    throw badRequest('the multipart Content-Type has no valid boundary');
  }
  return new Reader(req, limits);
}
