/**
 * @module wirekit/ws/server
 * The server side of `app.ws()`: each route's options and its ws server (made on the first
 * upgrade), the origin check, subprotocol choice, and the WebSockets one listening server holds
 * (for its graceful close).
 *
 * Dependency direction: wirekit/server imports this module (lazily reaching ws through
 * `engine.ts`); this module knows the server's `Context` as a type only, never its App.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PerMessageDeflateOptions } from 'ws';
import { WebSocketClosedError } from '../errors.js';
import type { Context } from '../server/context.js';
import { type RawServer, type RawServerOptions, ws } from './engine.js';
import { checkSocketOptions, HOLDER, type SocketHolder, type SocketSettings, WebSocket } from './socket.js';

/** A WebSocket route's handler. When it returns (or throws) the socket is closed. */
export type WebSocketHandler = (socket: WebSocket, ctx: Context) => unknown;

/** Options of one `app.ws()` route, given before its middleware and handler. */
export interface WebSocketRouteOptions {
  /**
   * Subprotocols this route speaks, most preferred first: the first of them the client offers
   * is chosen (`socket.protocol`); with no match the handshake goes on without one (a client
   * that required one then gives up, as RFC 6455 has it). **Default:** none.
   */
  protocols?: string[];
  /**
   * Which pages may open the socket, by their `Origin` header: `'same-origin'` (the Origin's
   * host:port equals the Host header), `'any'`, a list of origins (`'https://example.com'`,
   * compared case-insensitively), or a function. A request without an Origin (not a browser)
   * passes every setting but a function, which gets `undefined`. A refused origin gets a 403.
   * **Default:** `'same-origin'`.
   */
  origins?: 'same-origin' | 'any' | string[] | ((origin: string | undefined) => boolean);
  /** Largest message, in bytes; a larger one closes the socket with 1009. **Default:** 1 MiB. */
  maxPayload?: number;
  /** Most frames one message may be split into; more closes with 1008. **Default:** `100`. */
  maxFragments?: number;
  /**
   * Ping every this many ms; a peer that has not answered by the next ping is terminated
   * (close code 1006). `0` turns it off. **Default:** `30_000`.
   */
  heartbeat?: number;
  /** permessage-deflate: `true` for ws's defaults, or ws's options. **Default:** `false`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Milliseconds to wait for the peer's answer to a close frame before cutting. **Default:** `5_000`. */
  closeTimeout?: number;
  /** `send()` resolves at once while fewer bytes than this wait to be written. **Default:** 64 KiB. */
  sendHighWaterMark?: number;
  /** Unread messages queued before reading pauses. **Default:** `16`. */
  receiveHighWaterMark?: number;
}

export const wsRouteDefaults = {
  protocols: [] as string[],
  origins: 'same-origin',
  maxPayload: 1024 * 1024,
  maxFragments: 100,
  heartbeat: 30_000,
  perMessageDeflate: false,
  closeTimeout: 5_000,
  sendHighWaterMark: 64 * 1024,
  receiveHighWaterMark: 16,
} satisfies WebSocketRouteOptions;

type Resolved = Required<WebSocketRouteOptions>;

/** Merges `options` over the defaults and rejects nonsense before any connection. */
export function resolveRouteOptions(options: WebSocketRouteOptions = {}): Resolved {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...wsRouteDefaults, ...given } as Resolved;
  checkSocketOptions(o);
  if (
    !Array.isArray(o.protocols) ||
    o.protocols.some((p) => typeof p !== 'string' || !/^[!#-'*+.0-9A-Z^-z|~-]+$/.test(p))
  ) {
    throw new TypeError('protocols must be a list of tokens');
  }
  const { origins } = o;
  if (
    origins !== 'same-origin' &&
    origins !== 'any' &&
    typeof origins !== 'function' &&
    !(Array.isArray(origins) && origins.every((x) => typeof x === 'string'))
  ) {
    throw new TypeError("origins must be 'same-origin', 'any', a list of origins or a function");
  }
  return o;
}

/** One `app.ws()` route: its options, and the ws server that does its handshakes. */
export class WebSocketEndpoint {
  readonly settings: SocketSettings;
  readonly #o: Resolved;
  readonly #origins: Set<string> | null;
  /** Header lines for a handshake's 101 (Set-Cookie from middleware...), by request. */
  readonly #extraHeaders = new WeakMap<IncomingMessage, string[]>();
  #server: RawServer | undefined;

  constructor(options: WebSocketRouteOptions = {}) {
    this.#o = resolveRouteOptions(options);
    this.#origins = Array.isArray(this.#o.origins)
      ? new Set(this.#o.origins.map((origin) => origin.toLowerCase()))
      : null;
    this.settings = {
      sendHighWaterMark: this.#o.sendHighWaterMark,
      receiveHighWaterMark: this.#o.receiveHighWaterMark,
      heartbeat: this.#o.heartbeat,
    };
  }

  /** Whether the request's Origin may open a socket here. */
  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    const rule = this.#o.origins;
    if (typeof rule === 'function') return rule(origin) === true;
    if (origin === undefined || rule === 'any') return true;
    if (this.#origins !== null) return this.#origins.has(origin.toLowerCase());
    try {
      return new URL(origin).host === (req.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }

  /**
   * Completes the handshake on `socket`, adding `headers` (`name: value` lines) to the 101.
   * Returns the open WebSocket, or `null` when ws refused the handshake itself (a bad key or
   * version: it answered 400 and closed) or the client had gone. ws completes a handshake
   * synchronously when there is no `verifyClient` (wirekit checks origins itself).
   */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, headers?: string[]): WebSocket | null {
    // The client may have gone while middleware ran: ws would drop the socket without a word.
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return null;
    }
    const server = (this.#server ??= this.#createServer());
    if (headers !== undefined && headers.length > 0) this.#extraHeaders.set(req, headers);
    let opened: WebSocket | null = null;
    server.handleUpgrade(req, socket, head, (raw) => {
      opened = new WebSocket(raw, socket as Socket, this.settings);
    });
    return opened;
  }

  #createServer(): RawServer {
    const o = this.#o;
    const protocols = o.protocols;
    const server = new (ws().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      maxPayload: o.maxPayload,
      maxFragments: o.maxFragments,
      perMessageDeflate: o.perMessageDeflate,
      closeTimeout: o.closeTimeout,
      WebSocket: WebSocket.rawClass(),
      // Only a protocol the route speaks is ever chosen (ws alone would take the client's first).
      handleProtocols: (offered: Set<string>) => protocols.find((p) => offered.has(p)) ?? false,
    } as RawServerOptions);
    server.on('headers', (lines: string[], req: IncomingMessage) => {
      const extra = this.#extraHeaders.get(req);
      if (extra !== undefined) lines.push(...extra);
    });
    return server;
  }
}

const NO_ERROR = Symbol('no error');

/** What `onError` gets for a handler that took no `ctx`: the request line, nothing else. */
function standIn(url: string, routePath: string | undefined): Context {
  const q = url.indexOf('?');
  return {
    method: 'GET',
    url,
    path: q === -1 ? url : url.slice(0, q),
    routePath,
    params: {},
  } as unknown as Context;
}

/** Closes `socket` after its handler ended (with `err`, or NO_ERROR). */
function finish(
  socket: WebSocket,
  err: unknown,
  ctx: Context | undefined,
  onError: (err: unknown, ctx: Context) => void,
): void {
  const open = socket.readyState === 'open';
  if (err === NO_ERROR || err instanceof WebSocketClosedError) {
    if (open) void socket.close(1000);
    return;
  }
  onError(err, ctx as Context);
  if (open) void socket.close(1011, 'internal error');
}

/**
 * The WebSockets of one listening server: runs each handler, and on the server's close sends
 * every open socket 1001 Going Away (after what was already queued to it).
 */
export class WebSocketHost implements SocketHolder {
  readonly #live = new Set<WebSocket>();
  #closing = false;

  /** Whether close() was called: new upgrades are refused from then on. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Runs `handler` with `socket`, then closes it: 1000 when the handler returned (or threw
   * WebSocketClosedError), 1011 when it threw anything else (given to `onError` with `ctx`).
   *
   * A handler declared without a `ctx` parameter cannot reach it, so `ctx` is not kept for the
   * socket's lifetime just to report an error: `onError` then gets a stand-in with the request
   * line (`method`, `url`, `path`, `routePath`; `params` empty).
   */
  serve(
    socket: WebSocket,
    ctx: Context,
    handler: WebSocketHandler,
    onError: (err: unknown, ctx: Context) => void,
  ): void {
    this.#live.add(socket);
    socket[HOLDER] = this;
    if (this.#closing) void socket.close(1001, 'server shutting down');
    let result: unknown;
    try {
      result = handler(socket, ctx);
    } catch (err) {
      return finish(socket, err, ctx, onError);
    }
    if (!(result instanceof Promise)) return finish(socket, NO_ERROR, ctx, onError);
    // Only the request line is kept for a handler that cannot reach ctx.
    const report = handler.length >= 2 ? ctx : ctx.url;
    const routePath = ctx.routePath;
    result.then(
      () => finish(socket, NO_ERROR, undefined, onError),
      (err: unknown) =>
        finish(socket, err, typeof report === 'string' ? standIn(report, routePath) : report, onError),
    );
  }

  /** @internal The socket closed: forget it. */
  forget(socket: WebSocket): void {
    this.#live.delete(socket);
  }

  /** Sends 1001 Going Away to every open socket; the server's deadline cuts the rest. */
  close(): void {
    this.#closing = true;
    for (const socket of this.#live)
      if (socket.readyState === 'open') void socket.close(1001, 'server shutting down');
  }
}
