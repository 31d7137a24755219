/**
 * @module wirekit/server/context
 * `Context`: what a handler gets for one request. Request properties are computed when first
 * read (query, ip, cookies, signal), so a handler pays only for what it uses.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { bodyStream, bytesWithin, jsonWithin, readForm, readText } from './body.js';
import { Cookies } from './cookies.js';
import { readMultipart, type MultipartOptions, type MultipartReader } from './multipart.js';
import type { CompressionOptions } from './compress.js';
import { FileResult, Redirect } from './respond.js';
import type { SendFileOptions } from './send-file.js';
import { type SseOptions, SseResult } from './sse.js';

/** Per-app settings the context needs. */
export interface ContextSettings {
  trustProxy: boolean;
  cookieSecret: string | undefined;
  /** Response compression, when the app turned it on. */
  compression: Required<CompressionOptions> | undefined;
}

/** The request and response of one exchange, as handlers and middleware see it. */
export class Context<State extends Record<string, unknown> = Record<string, unknown>> {
  /** The node:http request. */
  readonly req: IncomingMessage;
  /** The node:http response; writing to it directly bypasses wirekit (then return nothing). */
  readonly res: ServerResponse;
  readonly method: string;
  /** The request target as sent: path and query string. */
  readonly url: string;
  /** The path, without the query string, still percent-encoded. */
  readonly path: string;
  /** Route parameters, decoded. */
  params: Record<string, string>;
  /** Response status; set it before returning a body to answer with another than 200. */
  status = 0;
  /** Body limit in bytes for this request's readers (the route's, else the app's). */
  bodyLimit: number;
  /** The pattern of the route that matched (`/users/:id`), or undefined for a 404/405. */
  routePath: string | undefined;
  /** The route's own bodyLimit, when it set one: multipart bodies use it instead of their 64 MiB. */
  routeBodyLimit: number | undefined;

  readonly #settings: ContextSettings;
  readonly #queryString: string;
  #query: Record<string, string> | undefined;
  #cookies: Cookies | undefined;
  #controller: AbortController | undefined;
  #multipart: MultipartReader | undefined;
  #state: State | undefined;
  /** Response headers set so far (lower-case names), written once with writeHead. */
  responseHeaders: Record<string, string | string[]> | undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    queryString: string,
    settings: ContextSettings,
    bodyLimit: number,
  ) {
    this.req = req;
    this.res = res;
    this.method = req.method as string;
    this.url = req.url as string;
    this.path = path;
    this.params = {};
    this.#queryString = queryString;
    this.#settings = settings;
    this.bodyLimit = bodyLimit;
  }

  /** Per-request state for middleware to pass things along. */
  get state(): State {
    return (this.#state ??= {} as State);
  }

  /** Request headers (lower-case names). */
  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  /** The query string as an object; the last of repeated keys wins (`queryAll` has them all). */
  get query(): Record<string, string> {
    if (this.#query === undefined) {
      this.#query = Object.create(null) as Record<string, string>;
      if (this.#queryString !== '') {
        for (const [key, value] of new URLSearchParams(this.#queryString)) this.#query[key] = value;
      }
    }
    return this.#query;
  }

  /** Every value of a repeated query key. */
  queryAll(key: string): string[] {
    return new URLSearchParams(this.#queryString).getAll(key);
  }

  /**
   * The client's address: the socket's peer, or with the app's `trustProxy` the first address
   * of X-Forwarded-For (what the proxy in front saw).
   */
  get ip(): string {
    if (this.#settings.trustProxy) {
      const forwarded = this.req.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return this.req.socket.remoteAddress ?? '';
  }

  /** Aborted when the client goes away before the response finished. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const res = this.res;
      if (res.destroyed && !res.writableFinished) controller.abort();
      else
        res.once('close', () => {
          if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
        });
    }
    return this.#controller.signal;
  }

  /** Request cookies and Set-Cookie for the response. */
  get cookies(): Cookies {
    this.#cookies ??= new Cookies(this.req.headers.cookie, this.#settings.cookieSecret);
    return this.#cookies;
  }

  /** @internal Whether `cookies` was touched (so responses without cookies skip it). */
  get hasCookies(): boolean {
    return this.#cookies !== undefined;
  }

  /** Sets a response header (replacing one of the same name). */
  set(name: string, value: string | string[]): this {
    (this.responseHeaders ??= Object.create(null) as Record<string, string>)[name.toLowerCase()] = value;
    return this;
  }

  /** Appends to a response header (Set-Cookie, Vary, Link...). */
  append(name: string, value: string): this {
    const headers = (this.responseHeaders ??= Object.create(null) as Record<string, string>);
    const key = name.toLowerCase();
    const existing = headers[key];
    headers[key] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    return this;
  }

  // ---- body readers: each enforces bodyLimit on decoded bytes ---------------------------------

  /** The body parsed as JSON (415 for another Content-Type, 400 when it does not parse). */
  json<T = unknown>(): Promise<T> {
    return jsonWithin<T>(this.req, this.bodyLimit);
  }

  /** The body as text, decoded with the Content-Type's charset. */
  text(): Promise<string> {
    return readText(this.req, { limit: this.bodyLimit });
  }

  /** An application/x-www-form-urlencoded body. */
  form(options: { maxKeys?: number } = {}): Promise<Record<string, string | string[]>> {
    return readForm(this.req, { limit: this.bodyLimit, ...options });
  }

  /** The body as bytes. */
  bytes(): Promise<Buffer> {
    return bytesWithin(this.req, this.bodyLimit);
  }

  /** The decoded body as a stream (the limit still applies). */
  stream(): Readable {
    return bodyStream(this.req, { limit: this.bodyLimit });
  }

  /**
   * A multipart/form-data body as an async iterable of fields and streamed files. Uploads have
   * their own limits (64 MiB in all, 10 MiB a file...), not the app's body limit; a route's
   * own `bodyLimit` does apply. Temp files are removed when the response is done.
   */
  multipart(options: MultipartOptions = {}): MultipartReader {
    const limit = this.routeBodyLimit === undefined ? {} : { limit: this.routeBodyLimit };
    this.#multipart ??= readMultipart(this.req, { ...limit, ...options });
    return this.#multipart;
  }

  // ---- response helpers ------------------------------------------------------------------------

  /** A redirect to `location` (302 by default); return it from the handler. */
  redirect(location: string, status: 301 | 302 | 303 | 307 | 308 = 302): Redirect {
    return new Redirect(location, status);
  }

  /** A file response (Range, ETag, Last-Modified, 304, HEAD); return it from the handler. */
  file(path: string, options: SendFileOptions = {}): FileResult {
    return new FileResult(path, options);
  }

  /**
   * A Server-Sent Events response: each value of `source` is an event (`{ data, event, id,
   * retry }`, or any value as its data); a heartbeat comment keeps proxies from closing it.
   * Return it from the handler.
   */
  sse(source: AsyncIterable<unknown>, options: SseOptions = {}): SseResult {
    return new SseResult(source, options);
  }

  /** @internal The app's compression settings. */
  get compression(): Required<CompressionOptions> | undefined {
    return this.#settings.compression;
  }

  /** @internal Whether `cleanup()` has anything to do. */
  get needsCleanup(): boolean {
    return this.#multipart !== undefined;
  }

  /** @internal Removes temp files of a multipart body once the response is done. */
  async cleanup(): Promise<void> {
    if (this.#multipart !== undefined) await this.#multipart.cleanup();
  }
}
