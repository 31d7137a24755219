/**
 * @module wirekit/client/websocket
 * `session.ws()`: a WebSocket that travels like the session's requests: its base URL, default
 * headers, cookie jar (the jar's cookies go with the handshake; the handshake's Set-Cookie goes
 * into the jar), TLS options and proxy (CONNECT through an HTTP(S) proxy).
 */
import type { ConnectionOptions } from 'node:tls';
import { UnsupportedError } from '../errors.js';
import { type ConnectWebSocketOptions, openWebSocket, webSocketUrl } from '../ws/client.js';
import type { WebSocket } from '../ws/socket.js';
import type { Cookies } from './cookies.js';
import { proxied } from './no-proxy.js';
import { mergeHeaders } from './options.js';
import type { ProxyRoute } from './proxy.js';

/** What `session.ws()` takes from its Session. */
export interface SessionWebSocketContext {
  baseUrl: URL | undefined;
  /** The session's resolved default headers (lower-case names). */
  headers: Record<string, string>;
  cookies: Cookies | null;
  proxy: ProxyRoute | undefined;
  tls: ConnectionOptions | undefined;
}

/** The session's proxy for a connection to `url` (http:/https: form), as a URL with its credentials. */
function proxyFor(route: ProxyRoute | undefined, url: URL): string | undefined {
  if (route === undefined) return undefined;
  const target =
    route.kind === 'fixed'
      ? route.target
      : proxied(route.noProxy, url)
        ? url.protocol === 'https:'
          ? route.https
          : route.http
        : undefined;
  if (target === undefined) return undefined;
  if (target.socks)
    throw new UnsupportedError(`WebSocket through a SOCKS proxy (${target.name}) is not supported`);
  return target.key;
}

/** Opens a WebSocket for `session.ws()`. */
export function sessionWebSocket(
  session: SessionWebSocketContext,
  url: string | URL,
  options: ConnectWebSocketOptions = {},
): Promise<WebSocket> {
  let target: URL;
  let httpUrl: string;
  const headers: Record<string, string> = { ...session.headers };
  let proxy: string | URL | undefined;
  try {
    target = webSocketUrl(url, session.baseUrl);
    // Cookies and NO_PROXY speak http(s): a wss: URL is an https: origin to them.
    const asHttp = new URL(target.href);
    asHttp.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
    httpUrl = asHttp.href;
    // A handshake carries no body to decode.
    delete headers['accept-encoding'];
    if (options.headers !== undefined) mergeHeaders(headers, options.headers);
    const jar = session.cookies === null ? '' : session.cookies.header(httpUrl);
    if (jar !== '') headers.cookie = headers.cookie === undefined ? jar : `${headers.cookie}; ${jar}`;
    proxy = options.proxy ?? proxyFor(session.proxy, asHttp);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const cookies = session.cookies;
  return openWebSocket(
    target,
    { ...options, headers, proxy, tls: options.tls ?? session.tls },
    {
      onResponse: (res) => {
        const setCookie = res.headers['set-cookie'];
        if (setCookie !== undefined && cookies !== null) cookies.store(setCookie, httpUrl);
      },
    },
  );
}
