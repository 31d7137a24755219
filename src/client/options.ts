/**
 * @module wirekit/client/options
 * The Session's options: one typed interface per level (session, request), one defaults object
 * each, validated once at construction so the per-request path only merges.
 */
import { createRequire } from 'node:module';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { CookieJar } from 'tough-cookie';
import type { MultipartFields } from './body.js';
import { type Hooks, type ResolvedHooks, resolveHooks } from './hooks.js';
import { type ProxyOption, type ProxyRoute, proxyRoute } from './proxy.js';
import { type ResolvedRetry, resolveRetry, type RetryOption } from './retry.js';
import {
  type CacheOptions,
  type RequestCacheMode,
  resolveCacheOptions,
  type ResolvedCacheOptions,
} from './cache-options.js';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Header values as callers give them; `undefined`/`null` removes a session default. */
export type HeadersInput =
  | Record<string, string | number | readonly string[] | undefined | null>
  | Iterable<readonly [string, string]>;

/** Query parameters: arrays repeat the key; `undefined`/`null` values are skipped. */
export type QueryInput =
  | Record<string, string | number | boolean | readonly (string | number | boolean)[] | undefined | null>
  | URLSearchParams;

/** Milliseconds; `0` turns a limit off. */
export interface TimeoutOptions {
  /** TCP connect plus TLS handshake, per new connection. **Default:** `10_000`. Session-wide only. */
  connect?: number;
  /** From sending the request until the response head arrives, per hop. **Default:** `60_000`. */
  response?: number;
  /** Longest gap between two chunks of the response body. **Default:** `60_000`. */
  idle?: number;
  /** The whole call: every redirect hop and reading the body. **Default:** `300_000`. */
  total?: number;
}

export const timeoutDefaults = {
  connect: 10_000,
  response: 60_000,
  idle: 60_000,
  total: 300_000,
} satisfies Required<TimeoutOptions>;

/** How redirects are followed. */
export interface RedirectOptions {
  /** Redirects to follow before `TooManyRedirectsError`; `0` returns the 3xx. **Default:** `10`. */
  max?: number;
  /**
   * Extra request headers dropped when a redirect changes origin (scheme, host or port), on top
   * of `Authorization`, `Cookie`, `Proxy-Authorization` and `Host`, which always are.
   * **Default:** `[]`.
   */
  dropHeaders?: readonly string[];
}

export const redirectDefaults = {
  max: 10,
  dropHeaders: [] as readonly string[],
} satisfies Required<RedirectOptions>;

/** The cookie jar: `true` for an in-memory jar, `false` for none, or where to keep it. */
export type CookiesOption =
  | boolean
  | {
      /** A JSON file the jar is loaded from at construction and saved to on `close()`. */
      file?: string;
      /** A tough-cookie jar to use instead of a new one (synchronous store). */
      jar?: CookieJar;
    };

/** Options for {@link Session}. */
export interface SessionOptions {
  /** Resolves relative request URLs (WHATWG rules). **Default:** none: URLs must be absolute. */
  baseUrl?: string | URL;
  /** Headers sent on every request. **Default:** {@link defaultRequestHeaders}. */
  headers?: HeadersInput;
  /** Timeouts in milliseconds. **Default:** {@link timeoutDefaults}. */
  timeout?: TimeoutOptions;
  /** Cancels every request of the session. **Default:** none. */
  signal?: AbortSignal;
  /** The cookie jar. **Default:** `true` (in memory). */
  cookies?: CookiesOption;
  /** Redirect handling. **Default:** {@link redirectDefaults}. */
  redirect?: RedirectOptions;
  /** Reject with `HttpStatusError` on a 4xx/5xx final response. **Default:** `false`. */
  throwHttpErrors?: boolean;
  /** Decoded bytes `text()`/`json()`/`bytes()` may buffer. **Default:** `64 * 1024 * 1024`. */
  maxBodySize?: number;
  /** Send Accept-Encoding and decode gzip, deflate, br. **Default:** `true`. */
  decompress?: boolean;
  /** Connections per origin; `0` = no limit. **Default:** `0`. */
  connections?: number;
  /** How long an idle keep-alive connection stays open; `0` closes after each response. **Default:** `4_000`. */
  keepAliveTimeout?: number;
  /** Negotiate HTTP/2 over TLS (ALPN) when the server offers it. **Default:** `false`. */
  http2?: boolean;
  /** node:tls options for https origins (`ca`, `rejectUnauthorized`, `servername`...). **Default:** none. */
  tls?: ConnectionOptions;
  /**
   * An undici dispatcher to send through instead of the session's own Agent. The session does not
   * close it; `connections`, `keepAliveTimeout`, `http2`, `tls` and `timeout.connect` are then
   * the dispatcher's business. **Default:** none.
   */
  dispatcher?: Dispatcher;
  /**
   * A private HTTP cache (RFC 9111): `true` in memory, `{ dir }` on disk, `false` for none.
   * **Default:** `false`.
   */
  cache?: boolean | CacheOptions;
  /**
   * Send every request through this proxy (`http://user:pass@host:port`, `https://...`,
   * `socks5://...`), or `'env'` for HTTP_PROXY, HTTPS_PROXY and NO_PROXY (read now, as curl reads
   * them). Not with `dispatcher`. **Default:** none (direct).
   */
  proxy?: ProxyOption | 'env';
  /** Retries of failed hops and retryable statuses; a number is the limit. **Default:** `0` (off). */
  retry?: RetryOption;
  /** Functions run around each request. **Default:** none. */
  hooks?: Hooks;
}

/** Headers every session sends unless told otherwise. */
export const defaultRequestHeaders: Readonly<Record<string, string>> = Object.freeze({
  'user-agent': `wirekit/${version}`,
  accept: '*/*',
  'accept-encoding': 'gzip, deflate, br',
});

export const sessionDefaults = {
  baseUrl: undefined,
  headers: undefined,
  timeout: timeoutDefaults,
  signal: undefined,
  cookies: true,
  redirect: redirectDefaults,
  throwHttpErrors: false,
  maxBodySize: 64 * 1024 * 1024,
  decompress: true,
  connections: 0,
  keepAliveTimeout: 4_000,
  http2: false,
  tls: undefined,
  dispatcher: undefined,
  cache: false,
  proxy: undefined,
  retry: 0,
  hooks: undefined,
} satisfies SessionOptions;

/** A request body: bytes, text, a stream or an async iterable of chunks. */
export type BodyInput = string | Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>;

/** Options for one request. Give at most one of `json`, `form`, `multipart`, `body`. */
export interface RequestOptions {
  /** **Default:** `'GET'` (for `request()`; the verb methods set it). */
  method?: string;
  query?: QueryInput;
  /** Merged over the session's headers (case-insensitive); `undefined` removes one. */
  headers?: HeadersInput;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: QueryInput;
  /** Sent as `multipart/form-data`; files are streamed from disk. */
  multipart?: MultipartFields;
  /** Sent as is; a stream or async iterable cannot be replayed on a 307/308. */
  body?: BodyInput;
  signal?: AbortSignal;
  /** Overrides the session's `response`, `idle` and `total` timeouts for this call. */
  timeout?: Omit<TimeoutOptions, 'connect'>;
  redirect?: RedirectOptions;
  throwHttpErrors?: boolean;
  maxBodySize?: number;
  decompress?: boolean;
  /** `false` bypasses the session's cache; `'no-cache'` revalidates a stored response first. */
  cache?: RequestCacheMode;
  /** A proxy for this call, `'env'`, or `false`/`null` to bypass the session's proxy. */
  proxy?: ProxyOption | 'env' | false | null;
  /** Merged over the session's retry policy for this call; `0` turns retrying off. */
  retry?: RetryOption;
}

/** The session's options with every default filled in and checked. */
export interface ResolvedSessionOptions {
  baseUrl: URL | undefined;
  headers: Record<string, string>;
  timeout: Required<TimeoutOptions>;
  signal: AbortSignal | undefined;
  cookies: CookiesOption;
  redirect: { max: number; dropHeaders: readonly string[] };
  throwHttpErrors: boolean;
  maxBodySize: number;
  decompress: boolean;
  connections: number;
  keepAliveTimeout: number;
  http2: boolean;
  tls: ConnectionOptions | undefined;
  dispatcher: Dispatcher | undefined;
  cache: ResolvedCacheOptions | false;
  proxy: ProxyRoute | undefined;
  retry: ResolvedRetry;
  hooks: ResolvedHooks | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** Throws TypeError unless `name` is an HTTP token (so no CR, LF, space or colon). */
export function checkToken(name: string, what: string): void {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new TypeError(`${what} must be an HTTP token, got ${JSON.stringify(name)}`);
  }
}

/** Throws TypeError on CR, LF or NUL in a header value or URL (request smuggling). */
export function checkValue(value: string, what: string): void {
  if (BAD_VALUE.test(value)) throw new TypeError(`${what} must not contain CR, LF or NUL`);
}

/**
 * Merges `input` into `into` (lowercase names), validating every name and value. A nullish
 * value deletes the name.
 */
export function mergeHeaders(into: Record<string, string>, input: HeadersInput): Record<string, string> {
  const entries: Iterable<readonly [string, unknown]> =
    Symbol.iterator in input ? (input as Iterable<readonly [string, string]>) : Object.entries(input);
  for (const [name, value] of entries) {
    checkToken(name, 'header name');
    const key = name.toLowerCase();
    if (value === undefined || value === null) {
      delete into[key];
      continue;
    }
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    checkValue(text, `header ${name}`);
    into[key] = text;
  }
  return into;
}

function checkMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new RangeError(`${what} must be a finite number of ms >= 0, got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults and throws TypeError/RangeError on nonsense, before any work is done. */
export function resolveSessionOptions(options: SessionOptions): ResolvedSessionOptions {
  const o = { ...sessionDefaults, ...defined(options) };
  const timeout = { ...timeoutDefaults, ...defined(o.timeout) };
  for (const key of Object.keys(timeout) as (keyof TimeoutOptions)[]) {
    checkMs(timeout[key], `timeout.${key}`);
  }
  const redirect = resolveRedirect(redirectDefaults, o.redirect);
  let baseUrl: URL | undefined;
  if (o.baseUrl !== undefined) {
    const text = String(o.baseUrl);
    checkValue(text, 'baseUrl');
    baseUrl = new URL(text);
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be http or https, got ${baseUrl.protocol}`);
    }
  }
  const headers: Record<string, string> = { ...defaultRequestHeaders };
  if (!o.decompress) delete headers['accept-encoding'];
  if (o.headers !== undefined) mergeHeaders(headers, o.headers);
  checkSize(o.maxBodySize);
  if (!Number.isInteger(o.connections) || o.connections < 0) {
    throw new RangeError(`connections must be an integer >= 0, got ${o.connections}`);
  }
  checkMs(o.keepAliveTimeout, 'keepAliveTimeout');
  if (o.cookies !== true && o.cookies !== false && (typeof o.cookies !== 'object' || o.cookies === null)) {
    throw new TypeError('cookies must be true, false or { file, jar }');
  }
  const cache = resolveCacheOptions(o.cache);
  if (o.proxy !== undefined && o.dispatcher !== undefined) {
    throw new TypeError('give proxy or dispatcher, not both');
  }
  const proxy = o.proxy === undefined ? undefined : proxyRoute(o.proxy);
  const retry = resolveRetry(undefined, o.retry);
  const hooks = resolveHooks(o.hooks);
  return { ...o, baseUrl, headers, timeout, redirect, cache, proxy, retry, hooks };
}

/** Merges a request's redirect options over the session's. */
export function resolveRedirect(
  base: { max: number; dropHeaders: readonly string[] },
  over: RedirectOptions | undefined,
): { max: number; dropHeaders: readonly string[] } {
  if (over === undefined) return base;
  const r = { ...base, ...defined(over) };
  if (!Number.isInteger(r.max) || r.max < 0) throw new RangeError(`redirect.max must be an integer >= 0`);
  return { max: r.max, dropHeaders: r.dropHeaders.map((h) => h.toLowerCase()) };
}

/** Throws RangeError unless `size` is a positive byte count (or Infinity). */
export function checkSize(size: number): void {
  if (typeof size !== 'number' || !(size > 0)) {
    throw new RangeError(`maxBodySize must be > 0 bytes (or Infinity), got ${String(size)}`);
  }
}

/** Checks a request's timeout overrides; returns them merged over the session's. */
export function resolveTimeout(
  base: Required<TimeoutOptions>,
  over: Omit<TimeoutOptions, 'connect'> | undefined,
): Required<TimeoutOptions> {
  if (over === undefined) return base;
  const t = { ...base, ...defined(over) };
  checkMs(t.response, 'timeout.response');
  checkMs(t.idle, 'timeout.idle');
  checkMs(t.total, 'timeout.total');
  return t;
}

/** Drops keys whose value is undefined, so they do not override defaults. */
function defined<T extends object>(options: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (options === undefined) return out;
  for (const key of Object.keys(options) as (keyof T)[]) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}
