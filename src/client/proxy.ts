/**
 * @module wirekit/client/proxy
 * Proxies of a session: which proxy a request goes through (a fixed URL, or HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY as curl reads them), and one dispatcher per distinct proxy. Plain-http
 * targets go to an HTTP proxy in absolute form; https targets through a CONNECT tunnel (undici's
 * ProxyAgent); socks5 URLs through undici's SOCKS5 client.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Agent, buildConnector, Dispatcher, Pool, ProxyAgent, Socks5ProxyAgent } from 'undici';
import { ConnectError, ProxyError, TimeoutError, WirekitError, formatHostPort } from '../errors.js';
import { basicAuth } from '../http/basic-auth.js';
import { noProxyRules, type NoProxyRule, proxied } from './no-proxy.js';
import { timedConnector } from './timings.js';

/** A proxy URL (`http://user:pass@host:port`, `https://...`, `socks5://...`), or `'env'`. */
export type ProxyOption = string | URL;

type Connector = ReturnType<typeof buildConnector>;

/** What the proxy dispatchers take from the session's options. */
export interface ProxySettings {
  tls: ConnectionOptions | undefined;
  connectTimeout: number;
  connections: number;
  keepAliveTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
}

/** One proxy: its URL without credentials, and the credentials, percent-decoded. */
interface ProxyTarget {
  /** The URL as given (credentials included): tells distinct proxies apart. Never shown. */
  readonly key: string;
  readonly url: URL;
  /** `host:port`, the only way a proxy is named in errors. */
  readonly name: string;
  readonly port: number;
  readonly socks: boolean;
  readonly username: string;
  readonly password: string;
}

/** Where requests go: one proxy for all, or the environment's choice per URL. */
export type ProxyRoute =
  | { readonly kind: 'fixed'; readonly target: ProxyTarget }
  | {
      readonly kind: 'env';
      readonly http: ProxyTarget | undefined;
      readonly https: ProxyTarget | undefined;
      readonly noProxy: readonly NoProxyRule[];
    };

const PROXY_PROTOCOLS = new Set(['http:', 'https:', 'socks5:', 'socks5h:', 'socks:']);

function target(text: string, what: string): ProxyTarget {
  if (/[\r\n\0]/.test(text)) throw new TypeError(`${what} must not contain CR, LF or NUL`);
  let url: URL;
  try {
    // A bare host:port means http, as in curl.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new TypeError(`${what} is not a valid proxy URL`);
  }
  if (!PROXY_PROTOCOLS.has(url.protocol)) {
    throw new TypeError(`${what} must be http, https or socks5, got ${url.protocol}`);
  }
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new TypeError(`${what} has credentials that are not valid percent-encoding`);
  }
  const socks = url.protocol !== 'http:' && url.protocol !== 'https:';
  const port = Number(url.port) || (socks ? 1080 : url.protocol === 'https:' ? 443 : 80);
  const bare = new URL(`${socks ? 'socks5:' : url.protocol}//${url.hostname}:${port}`);
  return {
    key: url.href,
    url: bare,
    name: formatHostPort(bare.hostname.replace(/^\[|\]$/g, ''), port),
    port,
    socks,
    username,
    password,
  };
}

/** The route for a `proxy` option; throws TypeError on a bad URL or scheme. */
export function proxyRoute(option: ProxyOption | 'env', env: NodeJS.ProcessEnv = process.env): ProxyRoute {
  if (option === 'env') {
    const http = env.http_proxy || env.HTTP_PROXY || env.all_proxy || env.ALL_PROXY;
    const https = env.https_proxy || env.HTTPS_PROXY || env.all_proxy || env.ALL_PROXY;
    return {
      kind: 'env',
      http: http ? target(http, 'HTTP_PROXY') : undefined,
      https: https ? target(https, 'HTTPS_PROXY') : undefined,
      noProxy: noProxyRules(env.no_proxy ?? env.NO_PROXY ?? ''),
    };
  }
  if (typeof option !== 'string' && !(option instanceof URL)) {
    throw new TypeError("proxy must be a URL, 'env', or (per request) false or null");
  }
  return { kind: 'fixed', target: target(String(option), 'proxy') };
}

/**
 * The proxies of one session: the session's route, routes given per request (parsed once), and
 * one dispatcher per distinct proxy, made on first use and closed with the session.
 */
export class Proxies {
  readonly #route: ProxyRoute | undefined;
  readonly #settings: ProxySettings;
  readonly #routes = new Map<string, ProxyRoute>();
  readonly #dispatchers = new Map<string, Dispatcher>();

  constructor(route: ProxyRoute | undefined, settings: ProxySettings) {
    this.#route = route;
    this.#settings = settings;
  }

  /** The route of a request's `proxy` option; `null` means no proxy. */
  route(option: ProxyOption | 'env' | false | null): ProxyRoute | null {
    if (option === false || option === null) return null;
    const text = String(option);
    let route = this.#routes.get(text);
    if (route === undefined) {
      route = proxyRoute(option);
      this.#routes.set(text, route);
    }
    return route;
  }

  /**
   * The dispatcher for a request to `url` over `route` (`undefined`: the session's route; `null`:
   * none), or `undefined` when the request goes direct.
   */
  dispatcherFor(url: URL, route: ProxyRoute | null | undefined): Dispatcher | undefined {
    const r = route === undefined ? this.#route : route;
    if (r === undefined || r === null) return undefined;
    let t: ProxyTarget | undefined;
    if (r.kind === 'fixed') t = r.target;
    else if (proxied(r.noProxy, url)) t = url.protocol === 'https:' ? r.https : r.http;
    if (t === undefined) return undefined;
    let dispatcher = this.#dispatchers.get(t.key);
    if (dispatcher === undefined) {
      dispatcher = t.socks ? socksAgent(t, this.#settings) : new HttpProxy(t, this.#settings);
      this.#dispatchers.set(t.key, dispatcher);
    }
    return dispatcher;
  }

  /** Closes every proxy dispatcher (after in-flight requests finish). */
  async close(): Promise<void> {
    const all = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.all(all.map((d) => d.close()));
  }
}

/** `Basic` credentials for Proxy-Authorization, or undefined when the URL has none. */
function basic(t: ProxyTarget): string | undefined {
  if (t.username === '' && t.password === '') return undefined;
  return basicAuth(t.username, t.password);
}

/**
 * A connector to the proxy itself: the session's connect timeout and TLS options (for an https
 * proxy), and failures that name the proxy, not the target.
 */
function proxyConnector(t: ProxyTarget, s: ProxySettings): Connector {
  const base = buildConnector({
    ...(t.url.protocol === 'https:' ? s.tls : undefined),
    timeout: s.connectTimeout,
  } as buildConnector.BuildOptions);
  const host = t.url.hostname.replace(/^\[|\]$/g, '');
  const port = t.port;
  return (options, callback) =>
    base(options, (err, socket) => {
      if (err === null) return callback(null, socket!);
      const { code } = err as { code?: unknown };
      const mapped =
        code === 'UND_ERR_CONNECT_TIMEOUT'
          ? new TimeoutError('connect', s.connectTimeout, `connect to proxy ${t.name}`)
          : err instanceof WirekitError
            ? err
            : new ConnectError(host, port, err);
      callback(mapped as Error & null, null);
    });
}

/** The origin connection whose CONNECT tunnel the proxy client is about to open. */
let tunnelling: EventEmitter | undefined;

/**
 * The proxy client of a CONNECT tunnel: a non-200 answer is a ProxyError naming the status, and
 * the tunnel's opening is marked for the origin connection's timings (`connect` runs to the
 * tunnel, `tls` is the origin's handshake inside it).
 */
class TunnelClient extends Pool {
  readonly #name: string;
  constructor(t: ProxyTarget, s: ProxySettings) {
    super(t.url.origin, { connect: proxyConnector(t, s), connections: 1 });
    this.#name = t.name;
  }

  override connect(...args: unknown[]): never {
    const marks = tunnelling;
    const options = args[0] as Dispatcher.ConnectOptions;
    const pending = (super.connect as (o: Dispatcher.ConnectOptions) => Promise<Dispatcher.ConnectData>)(
      options,
    );
    return pending.then((data) => {
      if (data.statusCode !== 200) {
        data.socket.destroy();
        throw new ProxyError(
          this.#name,
          data.statusCode,
          data.statusCode === 407
            ? 'requires authentication (407): the credentials in the proxy URL are missing or wrong'
            : `refused the tunnel to ${options.path} (${data.statusCode})`,
        );
      }
      marks?.emit('connect');
      return data;
    }) as never;
  }
}

/** Wraps ProxyAgent's tunnel connector so `timedConnector` sees when the tunnel opened. */
function markedTunnel(base: Connector): Connector {
  return (options, callback) => {
    const marks = new EventEmitter();
    tunnelling = marks;
    try {
      base(options, callback);
    } finally {
      tunnelling = undefined;
    }
    return marks as unknown as Socket;
  };
}

/**
 * A request's handler behind a forward proxy: a 407 is the proxy's answer, not the origin's, so it
 * fails the request with a ProxyError (the tunnel path makes its own); the rest passes through.
 */
class AuthRequired implements Dispatcher.DispatchHandler {
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #proxy: string;
  #abort: ((err: Error) => void) | undefined;

  constructor(inner: Dispatcher.DispatchHandler, proxy: string) {
    this.#inner = inner;
    this.#proxy = proxy;
  }

  onConnect(abort: (err?: Error) => void, context?: object): void {
    this.#abort = abort;
    // undici hands its context (the connection's) on to the request handler beside abort.
    (this.#inner as { onConnect?: (a: typeof abort, c?: object) => void }).onConnect?.(abort, context);
  }

  onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    if (status !== 407) return this.#inner.onHeaders?.(status, headers, resume, statusText) ?? true;
    const err = new ProxyError(
      this.#proxy,
      407,
      'requires authentication (407): the credentials in the proxy URL are missing or wrong',
    );
    this.#abort?.(err);
    return false;
  }

  onData(chunk: Buffer): boolean {
    return this.#inner.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    this.#inner.onComplete?.(trailers);
  }

  onError(err: Error): void {
    this.#inner.onError?.(err);
  }
}

/**
 * An HTTP(S) proxy: plain-http targets in absolute form over a pool of connections to the proxy
 * (what any forward proxy takes, squid's default configuration included), https targets through
 * CONNECT tunnels. Proxy-Authorization goes to the proxy only, never through a tunnel.
 */
class HttpProxy extends Dispatcher {
  readonly #t: ProxyTarget;
  readonly #s: ProxySettings;
  readonly #token: string | undefined;
  #forward: Pool | undefined;
  #tunnel: ProxyAgent | undefined;

  constructor(t: ProxyTarget, s: ProxySettings) {
    super();
    this.#t = t;
    this.#s = s;
    this.#token = basic(t);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin);
    // Both paths get their own headers object: the tunnel adds Host to the one it is given.
    const headers = { ...(options.headers as Record<string, string>) };
    if (origin.startsWith('http:')) {
      headers.host ??= origin.slice(7);
      if (this.#token !== undefined) headers['proxy-authorization'] = this.#token;
      return this.#forwardPool().dispatch(
        { ...options, origin: this.#t.url.origin, path: origin + options.path, headers },
        new AuthRequired(handler, this.#t.name),
      );
    }
    return this.#tunnelAgent().dispatch({ ...options, headers }, handler);
  }

  #forwardPool(): Pool {
    const s = this.#s;
    this.#forward ??= new Pool(this.#t.url.origin, {
      connect: timedConnector(proxyConnector(this.#t, s)),
      connections: s.connections === 0 ? null : s.connections,
      keepAliveTimeout: s.keepAliveTimeout === 0 ? 1 : s.keepAliveTimeout,
      headersTimeout: s.headersTimeout,
      bodyTimeout: s.bodyTimeout,
    });
    return this.#forward;
  }

  #tunnelAgent(): ProxyAgent {
    const t = this.#t;
    const s = this.#s;
    this.#tunnel ??= new ProxyAgent({
      uri: t.url.href,
      token: this.#token,
      requestTls: s.tls as buildConnector.BuildOptions | undefined,
      proxyTls: s.tls as buildConnector.BuildOptions | undefined,
      connections: s.connections === 0 ? null : s.connections,
      keepAliveTimeout: s.keepAliveTimeout === 0 ? 1 : s.keepAliveTimeout,
      headersTimeout: s.headersTimeout,
      bodyTimeout: s.bodyTimeout,
      clientFactory: () => new TunnelClient(t, s),
      factory: (origin, options) => {
        const o = options as Pool.Options;
        return new Pool(origin, { ...o, connect: timedConnector(markedTunnel(o.connect as Connector)) });
      },
    });
    return this.#tunnel;
  }

  override async close(): Promise<void> {
    await Promise.all([this.#forward?.close(), this.#tunnel?.close()]);
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.#forward?.destroy(), this.#tunnel?.destroy()]);
  }
}

/** What wirekit uses of undici's SOCKS5 agent: its handshake (auth and CONNECT) on a new socket. */
interface Socks5Handshake {
  createSocks5Connection(host: string, port: number): Promise<Socket>;
}

/**
 * A SOCKS5 proxy: a session-configured Agent whose connector opens each connection through
 * undici's SOCKS5 client (auth and CONNECT), then TLS for https targets. Using the client's
 * handshake under wirekit's own Agent, rather than Socks5ProxyAgent as the dispatcher, keeps the
 * session's keep-alive, pool size and timings (`connect` to the tunnel, `tls` inside it).
 */
function socksAgent(t: ProxyTarget, s: ProxySettings): Dispatcher {
  const socks = new Socks5ProxyAgent(t.url, {
    username: t.username === '' ? undefined : t.username,
    password: t.password === '' ? undefined : t.password,
    connect: proxyConnector(t, s),
  }) as unknown as Socks5Handshake;
  const secure = buildConnector({ ...s.tls, timeout: s.connectTimeout } as buildConnector.BuildOptions);
  const connect: Connector = (options, callback) => {
    const marks = new EventEmitter();
    const host = options.hostname.replace(/^\[|\]$/g, '');
    const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
    socks.createSocks5Connection(host, port).then(
      (socket) => {
        marks.emit('connect');
        if (options.protocol === 'https:') secure({ ...options, httpSocket: socket }, callback);
        else callback(null, socket);
      },
      (err: unknown) => {
        const mapped =
          err instanceof WirekitError
            ? err
            : new ProxyError(t.name, undefined, `refused: ${(err as Error).message}`, err);
        callback(mapped as Error & null, null);
      },
    );
    return marks as unknown as Socket;
  };
  // The handshake helper never dispatches, so it holds no connections to close.
  return new Agent({
    connect: timedConnector(connect),
    connections: s.connections === 0 ? null : s.connections,
    keepAliveTimeout: s.keepAliveTimeout === 0 ? 1 : s.keepAliveTimeout,
    headersTimeout: s.headersTimeout,
    bodyTimeout: s.bodyTimeout,
  });
}
