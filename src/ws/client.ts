/**
 * @module wirekit/ws/client
 * `connectWebSocket()`: opens a WebSocket (ws's client) and returns the same `WebSocket` the
 * server hands its handlers, with failures as wirekit errors: ConnectError, TimeoutError
 * (phase `connect`), AbortError, WebSocketHandshakeError (an HTTP status instead of 101).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { PerMessageDeflateOptions } from 'ws';
import { AbortError, ConnectError, TimeoutError, WebSocketHandshakeError, WirekitError } from '../errors.js';
import type { RawClientOptions, RawWebSocket } from './engine.js';
import { checkCount, checkSocketOptions, type SocketSettings, WebSocket } from './socket.js';
import { TunnelAgent } from './tunnel.js';

/** Options for {@link connectWebSocket}. */
export interface ConnectWebSocketOptions {
  /** Extra handshake request headers (`authorization`, `cookie`, `origin`...). **Default:** none. */
  headers?: Record<string, string>;
  /** Subprotocols to offer; the server picks one (`socket.protocol`). **Default:** none. */
  protocols?: string | string[];
  /** Milliseconds for the connection and the opening handshake together. **Default:** `10_000`. */
  timeout?: number;
  /** Cancels the connection attempt (not an open socket: close that). **Default:** none. */
  signal?: AbortSignal;
  /** Largest message to accept, in bytes; a larger one closes with 1009. **Default:** 1 MiB. */
  maxPayload?: number;
  /** Most frames one message may be split into; more closes with 1008. **Default:** `100`. */
  maxFragments?: number;
  /** Trusted CA certificates for wss: (PEM), e.g. a test's self-signed one. **Default:** node's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Other node:tls options for wss: (`rejectUnauthorized`, `servername`, `cert`...). **Default:** none. */
  tls?: ConnectionOptions;
  /** Ping every this many ms; a server that stops answering is terminated (1006). `0`: off. **Default:** `0`. */
  heartbeat?: number;
  /** Offer permessage-deflate: `true` or ws's options. **Default:** `false`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Milliseconds to wait for the server's answer to a close frame before cutting. **Default:** `5_000`. */
  closeTimeout?: number;
  /** `send()` resolves at once while fewer bytes than this wait to be written. **Default:** 64 KiB. */
  sendHighWaterMark?: number;
  /** Unread messages queued before reading pauses. **Default:** `16`. */
  receiveHighWaterMark?: number;
  /**
   * An HTTP(S) proxy to tunnel through with CONNECT (`http://user:pass@host:port`).
   * **Default:** none (a Session's `ws()` uses the session's proxy).
   */
  proxy?: string | URL;
}

export const connectWebSocketDefaults = {
  headers: undefined,
  protocols: undefined,
  timeout: 10_000,
  signal: undefined,
  maxPayload: 1024 * 1024,
  maxFragments: 100,
  ca: undefined,
  tls: undefined,
  heartbeat: 0,
  perMessageDeflate: false,
  closeTimeout: 5_000,
  sendHighWaterMark: 64 * 1024,
  receiveHighWaterMark: 16,
  proxy: undefined,
} satisfies ConnectWebSocketOptions;

/** @internal What a Session adds to a connection: its cookies in, the handshake's cookies out. */
export interface HandshakeHooks {
  /** Called with the server's answer to the handshake (101 or not), for Set-Cookie. */
  onResponse?: (res: IncomingMessage) => void;
}

type Counted =
  | 'timeout'
  | 'maxPayload'
  | 'maxFragments'
  | 'heartbeat'
  | 'closeTimeout'
  | 'sendHighWaterMark'
  | 'receiveHighWaterMark';

/** `url` as a ws: or wss: URL (http: and https: are taken as ws: and wss:). */
export function webSocketUrl(url: string | URL, base?: URL): URL {
  const text = typeof url === 'string' ? url : url.href;
  if (/[\r\n\0]/.test(text)) throw new TypeError('url must not contain CR, LF or NUL');
  const parsed = new URL(text, base);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new TypeError(`a WebSocket url must be ws, wss, http or https, got ${parsed.protocol}`);
  }
  parsed.hash = '';
  return parsed;
}

/**
 * Opens a WebSocket to `url` (ws:, wss:, or http:/https: taken as such). Rejects with
 * ConnectError (refused, unknown host, TLS), TimeoutError (phase `connect`), AbortError, or
 * WebSocketHandshakeError (`status`: the server answered 401, 404... instead of 101).
 *
 * @example
 * const socket = await connectWebSocket('ws://127.0.0.1:5000/echo', { protocols: ['chat.v1'] });
 * await socket.send('hello');
 * for await (const message of socket) console.log(message.text);
 */
export function connectWebSocket(
  url: string | URL,
  options: ConnectWebSocketOptions = {},
): Promise<WebSocket> {
  return openWebSocket(url, options, undefined);
}

/** @internal connectWebSocket with a Session's hooks. */
export function openWebSocket(
  url: string | URL,
  options: ConnectWebSocketOptions,
  hooks: HandshakeHooks | undefined,
): Promise<WebSocket> {
  let target: URL;
  let raw: RawWebSocket;
  let settings: SocketSettings;
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...connectWebSocketDefaults, ...given } as ConnectWebSocketOptions &
    Required<Pick<ConnectWebSocketOptions, Counted | 'perMessageDeflate'>>;
  try {
    target = webSocketUrl(url);
    checkCount('timeout', o.timeout, 0);
    checkSocketOptions(o);
    if (o.signal?.aborted) return Promise.reject(new AbortError(o.signal.reason));
    const secure = target.protocol === 'wss:';
    const proxy = o.proxy === undefined ? undefined : new URL(String(o.proxy));
    settings = {
      sendHighWaterMark: o.sendHighWaterMark,
      receiveHighWaterMark: o.receiveHighWaterMark,
      heartbeat: o.heartbeat,
    };
    raw = new (WebSocket.rawClass())(target, o.protocols ?? [], {
      ...o.tls,
      ...(o.ca === undefined ? undefined : { ca: o.ca }),
      headers: o.headers,
      maxPayload: o.maxPayload,
      maxFragments: o.maxFragments,
      perMessageDeflate: o.perMessageDeflate,
      closeTimeout: o.closeTimeout,
      followRedirects: false,
      agent: proxy === undefined ? undefined : new TunnelAgent(proxy, secure, o.tls),
    } as RawClientOptions) as RawWebSocket;
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const href = target.href;
  const { signal, timeout } = o;
  return new Promise<WebSocket>((resolve, reject) => {
    let socket: Socket | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      raw.terminate();
      reject(err);
    };
    const onAbort = () => fail(new AbortError(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeout > 0) {
      timer = setTimeout(
        () => fail(new TimeoutError('connect', timeout, `WebSocket handshake with ${href}`)),
        timeout,
      );
    }
    // Errors after a failure (ws reports its own abort) have nobody left to tell.
    raw.on('error', (err) => fail(classify(err, target)));
    raw.once('upgrade', (res: IncomingMessage) => {
      socket = res.socket as Socket;
      hooks?.onResponse?.(res);
    });
    raw.once('unexpected-response', (req, res: IncomingMessage) => {
      hooks?.onResponse?.(res);
      const status = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      fail(
        new WebSocketHandshakeError(
          href,
          status,
          `the server answered ${status} ${res.statusMessage ?? ''}`.trim(),
          res.headers,
        ),
      );
    });
    raw.once('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      raw.removeAllListeners('error');
      raw.removeAllListeners('unexpected-response');
      resolve(new WebSocket(raw, socket as Socket, settings));
    });
  });
}

/** A failure before the socket opened, as a wirekit error. */
function classify(err: unknown, url: URL): unknown {
  if (err instanceof WirekitError) return err;
  // System and TLS errors carry a code; ws's handshake checks (a bad Sec-WebSocket-Accept...) do not.
  if (typeof (err as { code?: unknown } | null)?.code === 'string') {
    const port = Number(url.port) || (url.protocol === 'wss:' ? 443 : 80);
    return new ConnectError(url.hostname.replace(/^\[|\]$/g, ''), port, err);
  }
  return new WebSocketHandshakeError(url.href, 101, err instanceof Error ? err.message : String(err));
}
