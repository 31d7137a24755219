/**
 * @module wirekit/server/listen
 * Serving a request listener: HTTP, HTTPS or HTTP/2 (with HTTP/1.1 fallback), timeouts on by
 * default, and a graceful close.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type * as tls from 'node:tls';
import { formatHostPort, ListenError } from '../errors.js';

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
  /** Milliseconds to receive a request's headers (slowloris guard); 408 after. **Default:** `60_000`. */
  headersTimeout?: number;
  /** Milliseconds to receive a whole request. **Default:** `300_000`. */
  requestTimeout?: number;
  /** Milliseconds an idle keep-alive connection stays open. **Default:** `72_000`. */
  keepAliveTimeout?: number;
  /** Largest request head in bytes; larger gets 431. **Default:** `16_384`. */
  maxHeaderSize?: number;
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
} satisfies ListenOptions;

/** A listening app server, from `app.listen()`. */
export interface AppServer {
  /** Where it listens, e.g. `http://127.0.0.1:5000/`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The node server. */
  readonly server: http.Server | https.Server | http2.Http2SecureServer;
  /**
   * Graceful close: stops accepting, closes idle keep-alive connections at once, answers new
   * requests on open connections with 503 + `Connection: close`, lets in-flight requests
   * finish, and destroys what is left after `timeout` ms (**Default:** `10_000`).
   */
  close(options?: { timeout?: number }): Promise<void>;
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Starts a server for `listener`; `onClosed` runs once it is fully closed. */
export async function serveApp(
  listener: Listener,
  options: ListenOptions,
  onClosed: () => Promise<void>,
): Promise<AppServer> {
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
  if (o.http2 && !o.tls)
    throw new TypeError('http2 needs tls (key and cert): browsers speak HTTP/2 only over TLS');
  let closing = false;
  const guarded: Listener = (req, res) => {
    if (!closing) return listener(req, res);
    const body = 'Service Unavailable: the server is shutting down\n';
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    };
    if (req.httpVersionMajor < 2) headers.connection = 'close';
    res.writeHead(503, headers);
    res.end(body);
  };
  const common = { maxHeaderSize: o.maxHeaderSize };
  const isHttp2 = o.http2 && o.tls !== undefined;
  const server: http.Server | https.Server | http2.Http2SecureServer = o.tls
    ? isHttp2
      ? http2.createSecureServer({ ...o.tls, allowHTTP1: true, ...common }, guarded as never)
      : https.createServer({ ...o.tls, ...common }, guarded)
    : http.createServer(common, guarded);
  if (isHttp2) (server as http2.Http2SecureServer).setTimeout(o.keepAliveTimeout);
  else {
    const h1 = server as http.Server;
    h1.headersTimeout = o.headersTimeout;
    h1.requestTimeout = o.requestTimeout;
    h1.keepAliveTimeout = o.keepAliveTimeout;
  }
  // Track sockets for HTTP/2 (no closeAllConnections there) and to force-close at the deadline.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
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
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        // Connections whose in-flight response finishes become idle: close them as they do.
        const sweep =
          'closeIdleConnections' in server ? setInterval(() => server.closeIdleConnections(), 50) : undefined;
        if ('closeIdleConnections' in server) server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
        clearTimeout(timer);
        clearInterval(sweep);
        for (const socket of sockets) socket.destroy();
        await done;
        await onClosed();
      })();
      return closed;
    },
  };
}
