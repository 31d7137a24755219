/**
 * @module wirekit/client/session
 * `Session`: one per application, like aiohttp's ClientSession. Keep-alive connection pools on
 * undici, a cookie jar, redirects, timeouts and decompression, one `#send` per hop.
 */
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { TooManyRedirectsError, type RedirectHop } from '../errors.js';
import { encodeBody, encodeQuery } from './body.js';
import { Cookies } from './cookies.js';
import { codingsOf } from './decompress.js';
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
import { hopRecord, type Hop, isRedirect, nextHop } from './redirects.js';
import { Response } from './response.js';
import { clientError, Deadline, type HopContext } from './timeouts.js';
import { claimNext, RequestClock, timedConnector, watchConnections } from './timings.js';

/** Options of the verb methods: everything but the method. */
export type VerbOptions = Omit<RequestOptions, 'method'>;

const NO_REDIRECTS: readonly RedirectHop[] = Object.freeze([]);

function ignore(): void {}

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
  #closed = false;

  constructor(options: SessionOptions = {}) {
    const o = resolveSessionOptions(options);
    this.#o = o;
    this.cookies = o.cookies === false ? null : new Cookies(o.cookies);
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

  /** Closes the connections (after in-flight requests finish) and saves the cookie file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDispatcher) await this.#dispatcher.close();
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
    }
    const deadline =
      timeout.total > 0 || signal !== undefined || o.signal !== undefined
        ? new Deadline(timeout.total, method, url, signal, o.signal)
        : undefined;
    const clock = new RequestClock();
    let redirects = NO_REDIRECTS;
    for (;;) {
      const context: HopContext = { method: hop.method, url: hop.url, timeout, signal: deadline?.signal };
      let data: Dispatcher.ResponseData;
      try {
        data = await this.#send(hop, context, clock);
      } catch (err) {
        deadline?.clear();
        throw clientError(err, context);
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
          throw err;
        }
        if (redirects === NO_REDIRECTS) redirects = [];
        (redirects as RedirectHop[]).push(hopRecord(hop, status, next));
        // The body of a 3xx is small or nothing; reading it keeps the connection reusable.
        data.body.dump().catch(ignore);
        if (redirects.length > redirect.max) {
          deadline?.clear();
          throw new TooManyRedirectsError(redirects, redirect.max);
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
        throw err;
      }
      const res = new Response({
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
      });
      if (throwHttpErrors && status >= 400) {
        await res.buffer();
        res.raiseForStatus();
      }
      return res;
    }
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

  /** The dispatcher for a request to `url`: where proxies will choose per origin. */
  #dispatcherFor(_url: URL): Dispatcher {
    return this.#dispatcher;
  }

  /** Sends one hop: jar cookies in, the response head out. Redirects, errors: the caller's. */
  async #send(hop: Hop, context: HopContext, clock: RequestClock): Promise<Dispatcher.ResponseData> {
    const { url } = hop;
    let headers = hop.headers;
    const jar = this.cookies === null ? '' : this.cookies.header(url.href);
    if (jar !== '') {
      const own = headers.cookie;
      headers = { ...headers, cookie: own === undefined ? jar : `${own}; ${jar}` };
    }
    const { timeout } = context;
    let pending: Promise<Dispatcher.ResponseData>;
    claimNext(clock);
    try {
      pending = this.#dispatcherFor(url).request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: hop.method,
        headers,
        body: (hop.body?.body ?? null) as string | null,
        signal: context.signal ?? null,
        headersTimeout: timeout.response,
        bodyTimeout: timeout.idle,
        reset: this.#o.keepAliveTimeout === 0,
      });
    } finally {
      claimNext(undefined);
    }
    const data = await pending;
    clock.head();
    return data;
  }
}
