/**
 * @module wirekit/client/response
 * `Response`: status, headers, final URL, redirect chain and timings, and the body read once as
 * bytes, text (charset from Content-Type), JSON, or as an async iterable of chunks.
 */
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { BodyTooLargeError, HttpStatusError, type RedirectHop } from '../errors.js';
import { extractLinks, type Link, type LinkOptions } from '../html/index.js';
import { decode, decodeError } from './decompress.js';
import { clientError, type Deadline, type HopContext } from './timeouts.js';
import type { RequestClock, Timings } from './timings.js';

/** Response headers: lowercase names; repeated headers (Set-Cookie) as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

const decoders = new Map<string, TextDecoder>();
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;
const UTF8 = /^utf-?8$/i;
/** The last Content-Type decoded and its charset (undefined for UTF-8): responses repeat theirs. */
let lastType: string | undefined;
let lastCharset: string | undefined;

/** The decoded text of `bytes` in the charset that `contentType` names (UTF-8 by default). */
export function decodeText(bytes: Buffer, contentType: string | undefined): string {
  if (contentType !== lastType) {
    lastType = contentType;
    const charset = contentType === undefined ? undefined : CHARSET.exec(contentType)?.[1];
    lastCharset = charset === undefined || UTF8.test(charset) ? undefined : charset;
  }
  const charset = lastCharset;
  if (charset === undefined) {
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return bom ? bytes.toString('utf8', 3) : bytes.toString('utf8');
  }
  const label = charset.toLowerCase();
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      // An unknown charset label: UTF-8, the web's default, rather than an error.
      return decodeText(bytes, undefined);
    }
    decoders.set(label, decoder);
  }
  return decoder.decode(bytes);
}

/** What the session hands a new Response. */
export interface ResponseInit {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  url: string;
  method: string;
  redirects: readonly RedirectHop[];
  raw: Readable;
  codings: string[] | undefined;
  clock: RequestClock;
  deadline: Deadline | undefined;
  context: HopContext;
  maxBodySize: number;
  /** Retries the session made before this response. */
  retries?: number;
  /** How the cache answered: `hit`, `stale` or `revalidated`; absent for the network. */
  cache?: 'hit' | 'stale' | 'revalidated' | undefined;
}

/**
 * An HTTP response. Read the body once: `bytes()`, `text()`, `json()`, or iterate `body`; or
 * `dump()` it to free the connection without reading.
 *
 * @example
 * const res = await session.get('https://example.com/items', { query: { page: 2 } });
 * if (res.ok) console.log(await res.json(), res.timings.total);
 */
export class Response {
  /** The status code of the final hop. */
  readonly status: number;
  readonly statusText: string;
  /** `true` for 2xx. */
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  /** The URL of the final hop (after redirects). */
  readonly url: string;
  /** The method of the final hop (a 303 turns POST into GET). */
  readonly method: string;
  /** Each redirect followed, in order; empty when none. */
  readonly redirects: readonly RedirectHop[];
  /** How many times the session sent a hop again (`retry` option) before this response. */
  readonly retries: number;
  /** Whether the body came from the session's cache (fresh, stale-while-revalidate, or after a 304). */
  readonly fromCache: boolean;
  /** Whether the cache revalidated it with the server first (a 304 answered). */
  readonly revalidated: boolean;
  #raw: Readable;
  #codings: string[] | undefined;
  readonly #clock: RequestClock;
  readonly #deadline: Deadline | undefined;
  readonly #context: HopContext;
  readonly #maxBodySize: number;
  #used = false;
  /** The buffered body, once `bytes()` (or `text()`, `json()`, `links()`) read it. */
  #bytes: Promise<Buffer> | undefined;

  /** @internal Made by the session. */
  constructor(init: ResponseInit) {
    this.status = init.status;
    this.statusText = init.statusText;
    this.ok = init.status >= 200 && init.status < 300;
    this.headers = init.headers;
    this.url = init.url;
    this.method = init.method;
    this.redirects = init.redirects;
    this.retries = init.retries ?? 0;
    this.fromCache = init.cache !== undefined;
    this.revalidated = init.cache === 'revalidated';
    this.#raw = init.raw;
    this.#codings = init.codings;
    this.#clock = init.clock;
    this.#deadline = init.deadline;
    this.#context = init.context;
    this.#maxBodySize = init.maxBodySize;
  }

  /** Phase durations in ms, as of now: `download` and the final `total` once the body was read. */
  get timings(): Timings {
    return this.#clock.toJSON();
  }

  /** A header's value (case-insensitive); repeated headers joined with `, `. */
  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** Whether the body has been taken (read, iterated or dumped). */
  get bodyUsed(): boolean {
    return this.#used;
  }

  #take(): Readable {
    if (this.#used) throw new TypeError('the response body was already read');
    this.#used = true;
    return this.#codings === undefined ? this.#raw : decode(this.#raw, this.#codings);
  }

  /**
   * The decoded body as a stream of chunks; no size limit. Errors are wirekit's (TimeoutError
   * with phase `idle` or `total`, ContentEncodingError...).
   */
  get body(): AsyncIterable<Buffer> {
    const stream = this.#take();
    return this.#iterate(stream);
  }

  async *#iterate(stream: Readable): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
      this.#finish();
    } catch (err) {
      this.#finish();
      throw this.#error(err);
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  /**
   * The whole decoded body. Rejects with BodyTooLargeError past `maxBodySize` decoded bytes.
   * Read once and kept, as aiohttp does: `bytes()`, `text()`, `json()` and `links()` may be
   * called in any order and any number of times. After `body` or `dump()` it throws.
   */
  bytes(): Promise<Buffer> {
    if (this.#bytes !== undefined) return this.#bytes;
    if (this.#used) return Promise.reject(new TypeError('the response body was already read'));
    this.#bytes = this.#read();
    return this.#bytes;
  }

  #read(): Promise<Buffer> {
    const limit = this.#maxBodySize;
    const length = this.#codings === undefined ? Number(this.headers['content-length']) : NaN;
    if (length > limit) {
      this.#used = true;
      this.#raw.destroy();
      this.#finish();
      return Promise.reject(new BodyTooLargeError(limit));
    }
    const stream = this.#take();
    // One Buffer of the chunks, failing once more than `limit` bytes came.
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) stream.destroy(new BodyTooLargeError(limit));
        else chunks.push(chunk);
      });
      stream.on('end', () => {
        this.#finish();
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      });
      stream.on('error', (err) => {
        this.#finish();
        reject(this.#error(err) as Error);
      });
    });
  }

  /** The body as text, in the charset Content-Type names (UTF-8 when it names none). */
  async text(): Promise<string> {
    const type = this.headers['content-type'];
    return decodeText(await this.bytes(), Array.isArray(type) ? type.join(', ') : type);
  }

  /** The body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  /**
   * Every link of the body (HTML), resolved against the response's URL (and the page's
   * `<base href>`), with wirekit/html's `extractLinks`.
   *
   * @example
   * for (const link of await res.links({ tags: ['a'] })) console.log(link.url);
   */
  async links(options?: LinkOptions): Promise<Link[]> {
    return extractLinks(await this.text(), this.url, options);
  }

  /** Discards the body, freeing the connection for reuse. */
  async dump(): Promise<void> {
    if (this.#used) return;
    this.#used = true;
    const raw = this.#raw as Readable & { dump?: (o?: { limit: number }) => Promise<void> };
    try {
      if (typeof raw.dump === 'function') await raw.dump();
      else raw.destroy();
    } catch {
      // A body that fails while being discarded does not matter to anyone.
    }
    this.#finish();
  }

  /**
   * @internal Reads the body into memory now (up to the limit; past it, the body is dropped), so
   * it stays readable from an error after the connection is gone.
   */
  async buffer(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await this.bytes();
    } catch {
      bytes = Buffer.alloc(0);
    }
    this.#raw = Readable.from([bytes]);
    this.#codings = undefined;
    this.#used = false;
    this.#bytes = Promise.resolve(bytes);
  }

  /** Throws HttpStatusError for a 4xx/5xx status; returns the response otherwise. */
  raiseForStatus(): this {
    if (this.status >= 400) throw new HttpStatusError(this);
    return this;
  }

  #finish(): void {
    this.#clock.end();
    this.#deadline?.clear();
  }

  #error(err: unknown): unknown {
    return clientError(decodeError(err, this.#codings), this.#context);
  }
}
