/**
 * @module wirekit/server/listen
 * Serving a request listener: HTTP, HTTPS or HTTP/2 (with HTTP/1.1 fallback), timeouts on by
 * default, and a graceful close.
 */
import * as http from 'node:http';
import type * as http2 from 'node:http2';
import type * as https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import { formatHostPort, ListenError } from '../errors.js';
import { refuseUpgrade } from './upgrade.js';

/** Options for `app.listen()`. */
export interface ListenOptions {
  /** Port; 0 picks a free one (read `server.port`). **Default:** `8080`. */
  port?: number;
  /** Address to bind. **Default:** `'127.0.0.1'` (use `'0.0.0.0'` or `'::'` to be reachable). */
  host?: string;
  /** Serve HTTPS with these node:tls options (`key`, `cert`...). **Default:** off. */
  tls?: tls.SecureContextOptions & tls.TlsOptions;
  /** With `tls`: HTTP/2, and HTTP/1.1 for clients that do not speak it. **Default:** `false`. */
  http2?: boolean;
  /**
   * Milliseconds to receive a request's headers (slowloris guard); 408 after. Checked every
   * quarter of the shorter of this and `requestTimeout` (at most every 30 s), so the cut comes
   * within 25% past it. **Default:** `60_000`.
   */
  headersTimeout?: number;
  /** Milliseconds to receive a whole request; 408 after. **Default:** `300_000`. */
  requestTimeout?: number;
  /** Milliseconds an idle keep-alive connection stays open. **Default:** `72_000`. */
  keepAliveTimeout?: number;
  /** Largest request head in bytes; larger gets 431. **Default:** `16_384`. */
  maxHeaderSize?: number;
  /**
   * Processes sharing the port (node:cluster): a number, or `'auto'` for one per core. The
   * program runs again in each worker, so call `listen` at its top level. **Default:** `1`.
   */
  workers?: number | 'auto';
}

export const listenDefaults = {
  port: 8080,
  host: '127.0.0.1',
  tls: undefined,
  http2: false,
  headersTimeout: 60_000,
  requestTimeout: 300_000,
  keepAliveTimeout: 72_000,
  maxHeaderSize: 16_384,
  workers: 1,
} satisfies ListenOptions;

/** A listening app server, from `app.listen()`. */
export interface AppServer {
  /** Where it listens, e.g. `http://127.0.0.1:5000/`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The node server; `undefined` in the primary of a multi-worker server (workers serve). */
  readonly server: http.Server | https.Server | http2.Http2SecureServer | undefined;
  /**
   * Graceful close: stops accepting; lets in-flight requests finish, their responses (when not
   * yet started) with `Connection: close`; answers new requests on open connections with 503 +
   * `Connection: close`; closes idle keep-alive connections after a grace of `timeout / 10`
   * (at most 500 ms) in which a client reusing one gets that 503 rather than a reset; sends
   * HTTP/2 sessions GOAWAY; and destroys what is left after `timeout` ms (**Default:** `10_000`).
   */
  close(options?: { timeout?: number }): Promise<void>;
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What serves HTTP/1.1 Upgrade requests (the app's WebSocket routes), when there is any. */
export interface UpgradeHooks {
  /** Takes the socket of an Upgrade request (node's `'upgrade'` event). */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Called when `close()` starts: ask the upgraded connections to end (WebSocket 1001). */
  close(): void;
}

/** What an app adds to the plain request listener. */
export interface ServeHooks {
  /** HTTP/1.1 Upgrade requests (the app's WebSocket routes), when there is any. */
  upgrades?: UpgradeHooks;
  /**
   * Requests with `Expect: 100-continue` (node's `'checkContinue'`): it sends the `100 Continue`
   * itself (`res.writeContinue()`), or answers without it. Without, node sends it for every one.
   */
  expectContinue?: Listener;
}

/** Longest wait, in ms, before `close()` closes idle keep-alive connections. */
const IDLE_GRACE = 500;

/**
 * How often node checks the headers and request timeouts, in ms. node's default is every 30 s,
 * so a 1 s `headersTimeout` could let a slowloris client hold on for 31 s; a quarter of the
 * shorter timeout keeps every cut within 25% of its timeout.
 */
function checkingInterval(headersTimeout: number, requestTimeout: number): number {
  const timeouts = [headersTimeout, requestTimeout].filter((ms) => ms > 0);
  if (timeouts.length === 0) return 30_000;
  return Math.min(30_000, Math.max(100, Math.ceil(Math.min(...timeouts) / 4)));
}

/**
 * The response node is writing on an HTTP/1.1 socket, if any. `_httpMessage` is node's own
 * record of it, which its `closeIdleConnections()` reads too.
 */
function inFlight(socket: Socket): http.ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage ?? undefined;
}

/** Whether a Transfer-Encoding's last coding is chunked, the only way such a body can end. */
function endsInChunked(value: string): boolean {
  const comma = value.lastIndexOf(',');
  return (
    value
      .slice(comma + 1)
      .trim()
      .toLowerCase() === 'chunked'
  );
}

/**
 * A request whose Transfer-Encoding does not end in chunked has no knowable end (RFC 9112
 * 6.3): 400 and the connection closed, before any handler runs. llhttp rejects it too, but only
 * after node has emitted the request, so without this the handler would start.
 */
function refuseFraming(res: http.ServerResponse): void {
  const body = 'Bad Request: a Transfer-Encoding must end in chunked\n';
  res.writeHead(400, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/**
 * Keeps what `event` brings in `set` until it closes. One listener function per set, not a
 * closure per connection: it counts when a server holds thousands of idle WebSockets.
 */
function track<T extends { on(event: 'close', listener: (this: T) => void): unknown }>(
  server: { on(event: string, listener: (item: T) => void): unknown },
  event: string,
  set: Set<T>,
): void {
  function untrack(this: T): void {
    set.delete(this);
  }
  server.on(event, (item: T) => {
    set.add(item);
    // 'close' comes once; `on` spares the wrapper `once` would allocate.
    item.on('close', untrack);
  });
}

/**
 * Starts a server for `listener`; `onClosed` runs once it is fully closed. With
 * `hooks.upgrades`, HTTP/1.1 Upgrade requests go to it (refused with 503 while closing);
 * without, node answers them as normal requests. Upgraded connections count as open until they
 * close: `close()` waits for them up to its deadline, then destroys them with the rest.
 */
export async function serveApp(
  listener: Listener,
  options: ListenOptions,
  onClosed: () => Promise<void>,
  hooks: ServeHooks = {},
): Promise<AppServer> {
  const { upgrades, expectContinue } = hooks;
  const given = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as ListenOptions;
  const o: Omit<Required<ListenOptions>, 'tls'> & Pick<ListenOptions, 'tls'> = {
    ...listenDefaults,
    ...given,
  };
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${o.port}`);
  }
  // node's own constructor refuses this pair, and its timeout check would silently swap them.
  if (o.requestTimeout > 0 && o.headersTimeout > o.requestTimeout) {
    throw new RangeError(
      `headersTimeout (${o.headersTimeout} ms) must not be longer than requestTimeout (${o.requestTimeout} ms): lower both`,
    );
  }
  if (o.http2 && !o.tls)
    throw new TypeError('http2 needs tls (key and cert): browsers speak HTTP/2 only over TLS');
  if (o.http2 && upgrades !== undefined)
    throw new TypeError('WebSocket routes need HTTP/1.1: an http2 server does not serve them');
  let closing = false;
  // In-flight responses that close() set to end with Connection: close.
  const closingAfter = new WeakSet<http.ServerResponse>();
  // Both entrances, node's 'request' and 'checkContinue', pass the same checks.
  const guard =
    (next: Listener): Listener =>
    (req, res) => {
      const framing = req.headers['transfer-encoding'];
      if (framing !== undefined && !endsInChunked(framing)) return refuseFraming(res);
      if (!closing) return next(req, res);
      const body = 'Service Unavailable: the server is shutting down\n';
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      };
      if (req.httpVersionMajor < 2) {
        headers.connection = 'close';
        // Pipelined behind a response close() marked: that one must leave the connection open
        // for this 503, which closes it instead.
        const ahead = inFlight(req.socket);
        if (ahead && ahead !== res && closingAfter.has(ahead) && !ahead.headersSent) {
          ahead.removeHeader('connection');
        }
      }
      res.writeHead(503, headers);
      res.end(body);
    };
  const guarded = guard(listener);
  const common = { maxHeaderSize: o.maxHeaderSize };
  const isHttp2 = o.http2 && o.tls !== undefined;
  // node:https and node:http2 are loaded only for TLS: a plain HTTP server does not carry them.
  const server: http.Server | https.Server | http2.Http2SecureServer = o.tls
    ? isHttp2
      ? (await import('node:http2')).createSecureServer(
          { ...o.tls, allowHTTP1: true, ...common },
          guarded as never,
        )
      : (await import('node:https')).createServer({ ...o.tls, ...common }, guarded)
    : http.createServer(common, guarded);
  if (isHttp2) (server as http2.Http2SecureServer).setTimeout(o.keepAliveTimeout);
  if (expectContinue !== undefined) (server as http.Server).on('checkContinue', guard(expectContinue));
  if (upgrades !== undefined) {
    (server as http.Server).on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (closing) refuseUpgrade(socket);
      else upgrades.upgrade(req, socket, head);
    });
  }
  // Set on the server rather than passed to its constructor: the HTTP/2 server takes none of
  // them, yet reads them all for its HTTP/1.1 fallback connections.
  Object.assign(server, {
    headersTimeout: o.headersTimeout,
    requestTimeout: o.requestTimeout,
    keepAliveTimeout: o.keepAliveTimeout,
    maxHeaderSize: o.maxHeaderSize,
    connectionsCheckingInterval: checkingInterval(o.headersTimeout, o.requestTimeout),
  });
  // node's HTTP/2 server has it too (for the fallback), untyped.
  const closeIdle = () => (server as http.Server).closeIdleConnections();
  // Raw sockets, to force-close at the deadline; the sockets HTTP/1.1 runs on (the TLS ones
  // under HTTPS), to end their in-flight exchanges with Connection: close; HTTP/2 sessions, to
  // send GOAWAY.
  const sockets = new Set<Socket>();
  const h1Sockets = o.tls ? new Set<Socket>() : sockets;
  const sessions = new Set<http2.ServerHttp2Session>();
  track(server, 'connection', sockets);
  if (o.tls) track(server, 'secureConnection', h1Sockets);
  if (isHttp2) track(server, 'session', sessions);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(new ListenError(o.host, o.port, err));
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err: Error) => process.stderr.write(`wirekit/server: ${err.message}\n`));
  const address = server.address() as { address: string; port: number };
  const scheme = o.tls ? 'https' : 'http';
  let closed: Promise<void> | undefined;
  return {
    url: `${scheme}://${formatHostPort(address.address, address.port)}/`,
    port: address.port,
    host: address.address,
    server,
    close({ timeout = 10_000 } = {}) {
      closed ??= (async () => {
        closing = true;
        // node:http's close() also drops every idle keep-alive connection at once, and a
        // client reusing one at that moment gets a reset instead of an answer: that step is
        // skipped here (for this one call) and done after a grace, below.
        const h1 = server as Partial<http.Server>;
        h1.closeIdleConnections = () => undefined;
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        delete h1.closeIdleConnections;
        // A response not yet started goes out with Connection: close, so its client does not
        // reuse a connection that is about to close.
        for (const socket of h1Sockets) {
          const res = inFlight(socket);
          if (res && !res.headersSent) {
            res.setHeader('connection', 'close');
            closingAfter.add(res);
          }
        }
        for (const session of sessions) session.close();
        // WebSockets get 1001 Going Away after what was queued to them; the deadline cuts the rest.
        upgrades?.close();
        // Within the grace, a client that reuses an idle connection gets the 503 with
        // Connection: close; after it, connections that are idle are closed as they become so.
        let sweep: NodeJS.Timeout | undefined;
        const grace = setTimeout(
          () => {
            closeIdle();
            sweep = setInterval(closeIdle, 50);
          },
          Math.min(IDLE_GRACE, timeout / 10),
        );
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
        clearTimeout(timer);
        clearTimeout(grace);
        clearInterval(sweep);
        for (const socket of sockets) socket.destroy();
        await done;
        await onClosed();
      })();
      return closed;
    },
  };
}
