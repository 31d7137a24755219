/**
 * @module wirekit/client/session
 * `Session`: one per application, like aiohttp's ClientSession. Keep-alive connection pools on
 * undici, a cookie jar, redirects, timeouts and decompression, one `#send` per hop.
 */
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { HttpStatusError, TooManyRedirectsError, type RedirectHop } from '../errors.js';
import { basicAuth } from '../http/basic-auth.js';
import { encodeBody, encodeQuery } from './body.js';
import { type CachedData, HttpCache } from './cache.js';
import { checkCacheMode, type RequestCacheMode } from './cache-options.js';
import { Cookies } from './cookies.js';
import { codingsOf } from './decompress.js';
import { download, type DownloadOptions, type DownloadResult, type DownloadTarget } from './download.js';
import { exchange } from './exchange.js';
import { Call, traceError, tracing } from './hooks.js';
import {
  checkSize,
  checkToken,
  checkValue,
  mergeHeaders,
  type RequestOptions,
  resolveRedirect,
  resolveSessionOptions,
  resolveTimeout,
  type ResolvedSessionOptions,
  type SessionOptions,
} from './options.js';
import { Proxies, type ProxyRoute } from './proxy.js';
import { hopRecord, type Hop, isRedirect, nextHop } from './redirects.js';
import { Response } from './response.js';
import { resolveRetry, sleep } from './retry.js';
import { clientError, Deadline, type HopContext } from './timeouts.js';
import { claimNext, RequestClock, timedConnector, watchConnections } from './timings.js';
import { sessionWebSocket } from './websocket.js';
import type { ConnectWebSocketOptions } from '../ws/client.js';
import type { WebSocket } from '../ws/socket.js';

/** Options of the verb methods: everything but the method. */
export type VerbOptions = Omit<RequestOptions, 'method'>;

const NO_REDIRECTS: readonly RedirectHop[] = Object.freeze([]);

/** A hop's context plus the request's proxy choice (`undefined`: the session's; `null`: none). */
interface SendContext extends HopContext {
  readonly proxy: ProxyRoute | null | undefined;
}

function ignore(): void {}

/**
 * A URL's credentials (`http://user:pass@host/`) as Basic authorization, as aiohttp, requests,
 * axios and got take them, unless the headers bring their own; taken out of the URL, so they
 * are never in `res.url`, a redirect record or the cookie lookups.
 */
function withCredentials(url: URL, headers: Readonly<Record<string, string>>): Record<string, string> {
  const user = decodeOr(url.username);
  const password = decodeOr(url.password);
  url.username = '';
  url.password = '';
  if (headers.authorization !== undefined) return headers as Record<string, string>;
  return { ...headers, authorization: basicAuth(user, password) };
}

/** `text` percent-decoded, or as it is when it is not valid percent-encoding. */
function decodeOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * An HTTP client: connection pools per origin, default headers, cookies, redirects, timeouts.
 * Make one per application and `close()` it at the end.
 *
 * @example
 * const http = new Session({ baseUrl: 'https://api.example.com', timeout: { total: 30_000 } });
 * const res = await http.get('/items', { query: { page: 2 } });
 * console.log(res.status, await res.json());
 * await http.post('/login', { form: { username: 'john', password: 's3cret' } });
 * await http.close();
 */
export class Session {
  /** The cookie jar, or `null` when the session was made with `cookies: false`. */
  readonly cookies: Cookies | null;
  readonly #o: ResolvedSessionOptions;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #cache: HttpCache | null;
  #proxies: Proxies | undefined;
  #closed = false;

  constructor(options: SessionOptions = {}) {
    const o = resolveSessionOptions(options);
    this.#o = o;
    this.cookies = o.cookies === false ? null : new Cookies(o.cookies);
    this.#cache =
      o.cache === false
        ? null
        : new HttpCache(o.cache, {
            send: (hop, context, clock) => this.#send(hop, context, clock),
            cookieHeader: (url) => (this.cookies === null ? '' : this.cookies.header(url)),
            setCookie: (value, url) => this.cookies?.store(value, url),
          });
    if (o.dispatcher !== undefined) {
      this.#dispatcher = o.dispatcher;
      this.#ownsDispatcher = false;
    } else {
      watchConnections();
      const connect = timedConnector(
        buildConnector({
          ...o.tls,
          timeout: o.timeout.connect,
          allowH2: o.http2,
        } as buildConnector.BuildOptions),
      );
      this.#dispatcher = new Agent({
        connect,
        connections: o.connections === 0 ? null : o.connections,
        keepAliveTimeout: o.keepAliveTimeout === 0 ? 1 : o.keepAliveTimeout,
        allowH2: o.http2,
        headersTimeout: o.timeout.response,
        bodyTimeout: o.timeout.idle,
      });
      this.#ownsDispatcher = true;
    }
    if (o.proxy !== undefined) this.#routes();
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  get(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('GET', url, options);
  }
  post(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('POST', url, options);
  }
  put(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('PUT', url, options);
  }
  patch(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('PATCH', url, options);
  }
  delete(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('DELETE', url, options);
  }
  head(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('HEAD', url, options);
  }
  options(url: string | URL, options?: VerbOptions): Promise<Response> {
    return this.#call('OPTIONS', url, options);
  }

  /**
   * GETs `url` into the file `path` (or the path a function picks from the response): written
   * to a temporary file beside it and renamed on success, the bytes as served (never
   * decompressed), no total timeout. Rejects with HttpStatusError on a non-2xx status (nothing
   * written). See {@link DownloadOptions} for `onProgress` and `resume`.
   *
   * @example
   * const { bytes } = await session.download(url, 'file.bin', {
   *   resume: true,
   *   onProgress: ({ percent }) => console.log(percent?.toFixed(0)),
   * });
   */
  download(url: string | URL, path: DownloadTarget, options?: DownloadOptions): Promise<DownloadResult> {
    return download(this, url, path, options);
  }

  /**
   * Any method: `options.method` (default GET). Rejects with ConnectError, TimeoutError (phase
   * `connect`, `response`, `idle` or `total`), AbortError, SocketError, TooManyRedirectsError,
   * RedirectError, ContentEncodingError, or HttpStatusError when `throwHttpErrors` is on.
   * Throws TypeError, before any byte is sent, for CR/LF in the method, URL or a header.
   *
   * @example
   * const res = await session.request('/items/7', { method: 'PROPFIND', headers: { depth: '1' } });
   */
  request(url: string | URL, options?: RequestOptions): Promise<Response> {
    const method = options?.method ?? 'GET';
    try {
      checkToken(method, 'method');
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#call(method, url, options);
  }

  /**
   * Opens a WebSocket (`ws:`/`wss:`, or a path against `baseUrl`) with the session's default
   * headers, cookies (sent with the handshake; its Set-Cookie stored), TLS options and proxy.
   * Options and errors as `connectWebSocket()` in wirekit/ws.
   *
   * @example
   * await session.post('/login', { form: { username, password } });
   * const socket = await session.ws('/chat');
   */
  ws(url: string | URL, options?: ConnectWebSocketOptions): Promise<WebSocket> {
    const o = this.#o;
    const context = {
      baseUrl: o.baseUrl,
      headers: o.headers,
      cookies: this.cookies,
      proxy: o.proxy,
      tls: o.tls,
    };
    return sessionWebSocket(context, url, options);
  }

  /** Closes the connections (after in-flight requests finish) and saves the cookie file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#cache?.close();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
    await this.#proxies?.close();
    await this.cookies?.save();
  }

  async #call(method: string, input: string | URL, options: RequestOptions | undefined): Promise<Response> {
    if (this.#closed) throw new TypeError('the session is closed');
    const o = this.#o;
    const url = this.#url(input);
    let headers = o.headers;
    let hop: Hop;
    let timeout = o.timeout;
    let redirect = o.redirect;
    let signal: AbortSignal | undefined;
    let throwHttpErrors = o.throwHttpErrors;
    let maxBodySize = o.maxBodySize;
    let decompress = o.decompress;
    let retry = o.retry;
    let proxy: ProxyRoute | null | undefined;
    let cacheMode: RequestCacheMode | undefined;
    if (url.username !== '' || url.password !== '') headers = withCredentials(url, headers);
    if (options === undefined) {
      hop = { method, url, headers, body: undefined };
    } else {
      if (options.query !== undefined) {
        const qs = encodeQuery(options.query);
        if (qs !== '') url.search = url.search.length > 1 ? `${url.search}&${qs}` : qs;
      }
      if (options.headers !== undefined) headers = mergeHeaders({ ...headers }, options.headers);
      const body =
        options.json !== undefined ||
        options.form !== undefined ||
        options.multipart !== undefined ||
        options.body !== undefined
          ? await encodeBody(options)
          : undefined;
      if (body !== undefined) {
        if (headers === o.headers) headers = { ...headers };
        if (body.contentType !== undefined && headers['content-type'] === undefined) {
          headers['content-type'] = body.contentType;
        }
        if (
          body.length !== undefined &&
          typeof body.body === 'object' &&
          !(body.body instanceof Uint8Array)
        ) {
          headers['content-length'] = String(body.length);
        }
      }
      hop = { method, url, headers, body };
      timeout = resolveTimeout(timeout, options.timeout);
      redirect = resolveRedirect(redirect, options.redirect);
      signal = options.signal;
      throwHttpErrors = options.throwHttpErrors ?? throwHttpErrors;
      if (options.maxBodySize !== undefined) {
        checkSize(options.maxBodySize);
        maxBodySize = options.maxBodySize;
      }
      decompress = options.decompress ?? decompress;
      if (options.retry !== undefined) retry = resolveRetry(retry, options.retry);
      if (options.proxy !== undefined) proxy = this.#routes().route(options.proxy);
      checkCacheMode(options.cache);
      cacheMode = options.cache;
    }
    const clock = new RequestClock();
    const deadline =
      timeout.total > 0 || signal !== undefined || o.signal !== undefined
        ? new Deadline(timeout.total, method, url, signal, o.signal, clock.started)
        : undefined;
    // Per-call state for retries, hooks and traces; a plain call has none.
    const call = retry.limit > 0 || o.hooks !== undefined || tracing() ? new Call(retry, o.hooks) : undefined;
    let redirects = NO_REDIRECTS;
    for (;;) {
      const context: SendContext = {
        method: hop.method,
        url: hop.url,
        timeout,
        signal: deadline?.signal,
        proxy,
      };
      let data: Dispatcher.ResponseData;
      try {
        data =
          call !== undefined
            ? await this.#exchange(hop, context, clock, call, cacheMode)
            : this.#cache === null
              ? await this.#send(hop, context, clock)
              : await this.#cache.exchange(hop, context, clock, cacheMode);
      } catch (err) {
        deadline?.clear();
        throw traceError(clientError(err, context), hop, call);
      }
      const status = data.statusCode;
      const setCookie = data.headers['set-cookie'];
      if (setCookie !== undefined && this.cookies !== null) this.cookies.store(setCookie, hop.url.href);
      const location = isRedirect(status) && redirect.max > 0 ? data.headers.location : undefined;
      if (location !== undefined) {
        let next: Hop;
        try {
          next = nextHop(
            hop,
            status,
            Array.isArray(location) ? location[0]! : location,
            redirect.dropHeaders,
          );
        } catch (err) {
          deadline?.clear();
          data.body.dump().catch(ignore);
          throw traceError(err, hop, call);
        }
        if (redirects === NO_REDIRECTS) redirects = [];
        (redirects as RedirectHop[]).push(hopRecord(hop, status, next));
        // The body of a 3xx is small or nothing; reading it keeps the connection reusable.
        data.body.dump().catch(ignore);
        if (redirects.length > redirect.max) {
          deadline?.clear();
          throw traceError(new TooManyRedirectsError(redirects, redirect.max), hop, call);
        }
        if (call !== undefined) {
          try {
            await call.redirecting(status, next);
          } catch (err) {
            deadline?.clear();
            throw traceError(err, hop, call);
          }
        }
        hop = next;
        clock.hop();
        continue;
      }
      let codings: string[] | undefined;
      try {
        codings =
          decompress && hop.method !== 'HEAD' && status !== 204 && status !== 304
            ? codingsOf(data.headers['content-encoding'])
            : undefined;
      } catch (err) {
        deadline?.clear();
        data.body.dump().catch(ignore);
        throw traceError(err, hop, call);
      }
      let res = new Response({
        status,
        statusText: data.statusText,
        headers: data.headers,
        url: hop.url.href,
        method: hop.method,
        redirects,
        raw: data.body,
        codings,
        clock,
        deadline,
        context,
        maxBodySize,
        cache: (data as CachedData).cacheState,
        retries: call?.retries ?? 0,
      });
      if (call !== undefined) {
        try {
          res = await call.respond(res);
        } catch (err) {
          deadline?.clear();
          throw traceError(err, hop, call);
        }
      }
      if (throwHttpErrors && res.status >= 400) {
        await res.buffer();
        throw traceError(new HttpStatusError(res), hop, call);
      }
      return res;
    }
  }

  /**
   * Sends `hop` through the call's hooks and traces and, while its retry policy allows, again
   * after a network failure or a retryable status (after a wait the deadline and signals cut
   * short); returns the head that ends the hop.
   */
  async #exchange(
    hop: Hop,
    context: SendContext,
    clock: RequestClock,
    call: Call,
    cacheMode: RequestCacheMode | undefined,
  ): Promise<Dispatcher.ResponseData> {
    for (;;) {
      const sent = await call.send(hop);
      let data: Dispatcher.ResponseData | undefined;
      let error: unknown;
      try {
        data =
          this.#cache === null
            ? await this.#send(sent, context, clock)
            : await this.#cache.exchange(sent, context, clock, cacheMode);
      } catch (err) {
        error = clientError(err, context);
      }
      const delay = call.delay(hop, data, error);
      if (delay < 0) {
        if (data === undefined) throw error;
        return data;
      }
      if (data !== undefined) {
        const setCookie = data.headers['set-cookie'];
        if (setCookie !== undefined && this.cookies !== null) this.cookies.store(setCookie, hop.url.href);
        data.body.dump().catch(ignore);
      }
      await call.retrying(data, error, delay);
      await sleep(delay, context.signal);
      if (hop.body !== undefined) hop = { ...hop, body: hop.body.replay!() };
      clock.hop();
    }
  }

  /** The session's proxies, made on first use (a request's `proxy` on a session without one). */
  #routes(): Proxies {
    if (this.#proxies === undefined) {
      const o = this.#o;
      watchConnections();
      this.#proxies = new Proxies(o.proxy, {
        tls: o.tls,
        connectTimeout: o.timeout.connect,
        connections: o.connections,
        keepAliveTimeout: o.keepAliveTimeout,
        headersTimeout: o.timeout.response,
        bodyTimeout: o.timeout.idle,
      });
    }
    return this.#proxies;
  }

  #url(input: string | URL): URL {
    const text = typeof input === 'string' ? input : input.href;
    checkValue(text, 'url');
    const url = new URL(text, this.#o.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`url must be http or https, got ${url.protocol}`);
    }
    return url;
  }

  /** The dispatcher for a request to `url`: its proxy's (the request's or the session's), else the session's. */
  #dispatcherFor(url: URL, proxy: ProxyRoute | null | undefined): Dispatcher {
    return this.#proxies?.dispatcherFor(url, proxy) ?? this.#dispatcher;
  }

  /**
   * Sends one hop: jar cookies in, the response head out (its arrival marked on `clock`).
   * Redirects, errors: the caller's.
   */
  #send(hop: Hop, context: HopContext, clock: RequestClock): Promise<Dispatcher.ResponseData> {
    const { url } = hop;
    let headers = hop.headers;
    const jar = this.cookies === null ? '' : this.cookies.header(url.href);
    if (jar !== '') {
      const own = headers.cookie;
      headers = { ...headers, cookie: own === undefined ? jar : `${own}; ${jar}` };
    }
    const { timeout } = context;
    claimNext(clock);
    try {
      return exchange(
        this.#dispatcherFor(url, (context as SendContext).proxy),
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: hop.method as Dispatcher.HttpMethod,
          headers,
          body: (hop.body?.body ?? null) as string | null,
          headersTimeout: timeout.response,
          bodyTimeout: timeout.idle,
          reset: this.#o.keepAliveTimeout === 0,
        },
        context.signal,
        clock,
      );
    } finally {
      claimNext(undefined);
    }
  }
}
