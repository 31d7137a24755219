/**
 * @module wirekit/net/tcp
 * `connect()` (asyncio's open_connection / socket.create_connection) and `listen()`
 * (asyncio's start_server), both handing out {@link Stream}s.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  AbortError,
  ConnectError,
  formatHostPort,
  ListenError,
  TimeoutError,
  type TimeoutPhase,
} from '../errors.js';
import { handshake } from './handshake.js';
import { Stream, type StreamOptions } from './stream.js';

/** Options for {@link connect}. */
export interface ConnectOptions extends StreamOptions {
  /** Milliseconds for DNS + connect + TLS handshake together; 0 = none. **Default:** `30_000`. */
  timeout?: number;
  /** Source address to bind before connecting. **Default:** chosen by the system. */
  localAddress?: string;
  /** Source port to bind before connecting. **Default:** chosen by the system. */
  localPort?: number;
  /** 4 or 6 to use only that family; 0 for both. **Default:** `0`. */
  family?: 0 | 4 | 6;
  /**
   * Dual-stack happy eyeballs (RFC 8305): try the addresses of both families, 250 ms apart.
   * **Default:** `true`.
   */
  happyEyeballs?: boolean;
  /**
   * Resolves the host, with node's `dns.lookup` signature: a custom resolver (a cache, a
   * service registry...). **Default:** `dns.lookup` (getaddrinfo, /etc/hosts included).
   */
  lookup?: net.LookupFunction;
  /** TLS: `true` for defaults, or node:tls options (`servername`, `ca`...). **Default:** off. */
  tls?: boolean | tls.ConnectionOptions;
  /** Disable Nagle's algorithm. **Default:** `true`. */
  noDelay?: boolean;
  signal?: AbortSignal;
}

export const connectDefaults = {
  timeout: 30_000,
  localAddress: undefined,
  localPort: undefined,
  family: 0,
  happyEyeballs: true,
  lookup: undefined,
  tls: false,
  noDelay: true,
  signal: undefined,
} satisfies ConnectOptions;

/**
 * Opens a TCP (or TLS) connection. Rejects with `ConnectError` (with the system code:
 * `ECONNREFUSED`, `ENOTFOUND`...), `TimeoutError` (with the phase: dns, connect or tls) or
 * `AbortError`.
 *
 * @example
 * const conn = await connect('127.0.0.1', 8888, { timeout: 5_000, localAddress: '127.0.0.1' });
 * console.log(await conn.readLine());
 */
export async function connect(host: string, port: number, options: ConnectOptions = {}): Promise<Stream> {
  const started = Date.now();
  const o = { ...connectDefaults, ...defined(options) };
  validatePort(port, 'port');
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string');
  if (!(o.timeout >= 0)) throw new RangeError(`timeout must be >= 0 ms, got ${o.timeout}`);
  if (o.localPort !== undefined) validatePort(o.localPort, 'localPort');
  if (![0, 4, 6].includes(o.family)) throw new RangeError(`family must be 0, 4 or 6, got ${o.family}`);
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);

  // A source address fixes the family; happy eyeballs would try the other family and fail.
  const localFamily = o.localAddress ? net.isIP(o.localAddress) : 0;
  const family = o.family || localFamily;
  const tlsOptions = o.tls === true ? {} : o.tls || undefined;
  const socket = net.connect({
    host,
    port,
    family,
    localAddress: o.localAddress,
    localPort: o.localPort,
    noDelay: o.noDelay,
    allowHalfOpen: true,
    autoSelectFamily: o.happyEyeballs && family === 0,
    autoSelectFamilyAttemptTimeout: 250,
    ...(o.lookup ? { lookup: o.lookup } : {}),
  });
  let phase: TimeoutPhase = net.isIP(host) ? 'connect' : 'dns';
  socket.once('lookup', () => {
    if (phase === 'dns') phase = 'connect';
  });

  const what = `connect to ${formatHostPort(host, port)}`;
  let stream: net.Socket = socket;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer =
        o.timeout > 0
          ? setTimeout(() => done(new TimeoutError(phase, o.timeout, what)), o.timeout)
          : undefined;
      const onAbort = () => done(new AbortError(o.signal?.reason));
      const onError = (err: unknown) => done(new ConnectError(host, port, err));
      function done(err: unknown): void {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        if (err === null) resolve();
        else reject(err);
      }
      function onConnect(): void {
        done(null);
      }
      socket.once('connect', onConnect);
      socket.once('error', onError);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
    if (tlsOptions !== undefined) {
      phase = 'tls';
      const secured = tls.connect({
        servername: net.isIP(host) ? undefined : host,
        ...tlsOptions,
        socket,
      });
      stream = secured;
      const left = o.timeout > 0 ? Math.max(1, o.timeout - (Date.now() - started)) : 0;
      await handshake(secured, 'secureConnect', left, o.signal).catch((err: unknown) => {
        // Report the timeout the caller set, not the remainder the handshake was given.
        if (err instanceof TimeoutError) throw new TimeoutError('tls', o.timeout, what);
        if (err instanceof AbortError) throw err;
        throw new ConnectError(host, port, err);
      });
    }
  } catch (err) {
    stream.destroy();
    socket.destroy();
    throw err;
  }
  return new Stream(stream, o);
}

/**
 * `options` without its `undefined` values, so that `{ host: undefined }` means the default
 * (spreading it as is would replace `'127.0.0.1'` with "every interface").
 */
function defined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(options) as Array<keyof T>) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}

function validatePort(port: number, name: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${name} must be an integer from 0 to 65535, got ${port}`);
  }
}

/** Options for {@link listen}. */
export interface ListenOptions extends StreamOptions {
  /** Address to bind. **Default:** `'127.0.0.1'`. Use `'::'` or `'0.0.0.0'` for all. */
  host?: string;
  /** Port to bind; 0 picks a free one (read it from `server.address.port`). **Default:** `0`. */
  port?: number;
  /** Length of the queue of connections not yet accepted. **Default:** `511`. */
  backlog?: number;
  /** Serve TLS with these node:tls server options (`key`, `cert`...). **Default:** off. */
  tls?: tls.TlsOptions;
  /** With host `'::'`, accept IPv6 only. **Default:** `false`. */
  ipv6Only?: boolean;
  /** Disable Nagle's algorithm on accepted sockets. **Default:** `true`. */
  noDelay?: boolean;
  /**
   * Called when a handler throws (the connection is then closed and the server goes on).
   * **Default:** one line on stderr.
   */
  onError?: (error: unknown, stream: Stream) => void;
}

export const listenDefaults = {
  host: '127.0.0.1',
  port: 0,
  backlog: 511,
  tls: undefined,
  ipv6Only: false,
  noDelay: true,
  onError: (error: unknown, stream: Stream) => {
    const peer = stream.remote;
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`wirekit/net: handler for ${peer.address}:${peer.port} failed: ${message}\n`);
  },
} satisfies ListenOptions;

/** Handles one accepted connection. When it returns, the connection is closed. */
export type ConnectionHandler = (stream: Stream) => void | Promise<void>;

/** Options for {@link Server.close}. */
export interface CloseOptions {
  /**
   * Milliseconds to let running handlers finish before their connections are destroyed.
   * **Default:** `10_000`.
   */
  timeout?: number;
}

/** A listening TCP server, from {@link listen}. */
export class Server {
  readonly #server: net.Server;
  readonly #address: { address: string; port: number; family: 'IPv4' | 'IPv6' };
  /**
   * Every accepted TCP socket (including TLS ones still in their handshake, which have no
   * Stream yet) and every Stream, each with a promise of its 'close'.
   */
  readonly #sockets = new Map<net.Socket, Promise<void>>();
  readonly #streams = new Map<Stream, Promise<void>>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #controller = new AbortController();
  #closing: Promise<void> | null = null;

  /** @internal use {@link listen}. */
  constructor(server: net.Server) {
    this.#server = server;
    const a = server.address() as net.AddressInfo;
    this.#address = { address: a.address, port: a.port, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    server.on('connection', (socket: net.Socket) => {
      this.#sockets.set(
        socket,
        closeOf(socket, () => this.#sockets.delete(socket)),
      );
    });
  }

  /** @internal */
  accept(stream: Stream, handler: ConnectionHandler, onError: ListenOptions['onError']): void {
    // startTls() replaces `stream.socket`; the one accepted closes with it.
    this.#streams.set(
      stream,
      closeOf(stream.socket, () => this.#streams.delete(stream)),
    );
    const run = (async () => {
      try {
        await handler(stream);
      } catch (err) {
        // A handler whose connection we force-closed at shutdown is not a failure to report.
        if (!this.#controller.signal.aborted || !stream.isClosed) {
          try {
            onError?.(err, stream);
          } catch {
            // A failing error reporter must not take the server (or the process) down with it.
          }
        }
        stream.abort();
      } finally {
        stream.close();
      }
    })();
    this.#handlers.add(run);
    const forget = () => this.#handlers.delete(run);
    run.then(forget, forget);
  }

  /** The bound address; `port` is the real one when 0 was asked for. Still readable after close. */
  get address(): { address: string; port: number; family: 'IPv4' | 'IPv6' } {
    return { ...this.#address };
  }

  /** Open connections right now. */
  get connections(): number {
    return this.#streams.size;
  }

  /** Aborted when `close()` starts, so long-running handlers can stop early. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The node:net server, for options wirekit does not cover. */
  get server(): net.Server {
    return this.#server;
  }

  /**
   * Stops accepting, lets running handlers finish, and destroys the connections still open
   * at the deadline. Resolves when every connection is closed. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const { timeout = 10_000 } = options;
    this.#closing ??= (async () => {
      this.#controller.abort();
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      });
      // net.Server.close calls back when its count drops, before the sockets' 'close' events.
      const allClosed = () =>
        Promise.all([stopped, ...this.#sockets.values(), ...this.#streams.values()]).then(() => {});
      // Handlers finish, then their last writes flush: only then is the server done early.
      const finished = Promise.allSettled([...this.#handlers]).then(allClosed);
      await Promise.race([finished, deadline]);
      clearTimeout(timer);
      for (const stream of this.#streams.keys()) stream.abort();
      // TLS sockets still in their handshake have no Stream, but keep net.Server.close waiting.
      for (const socket of this.#sockets.keys()) socket.destroy();
      // Wait for the connections, not the handlers: a handler that never returns must not keep
      // close() pending forever once its connection is gone.
      await allClosed();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Resolves on the socket's 'close', after `forget` ran. */
function closeOf(socket: net.Socket, forget: () => void): Promise<void> {
  return new Promise((resolve) =>
    socket.once('close', () => {
      forget();
      resolve();
    }),
  );
}

/**
 * Starts a TCP (or TLS) server and calls `handler` with a {@link Stream} for every connection.
 * A handler that throws closes its own connection and is reported through `onError`; the
 * server goes on. Rejects with `ListenError` (e.g. `EADDRINUSE`) when it cannot bind.
 *
 * @example
 * const server = await listen({ port: 8888 }, async (conn) => {
 *   await conn.write('Welcome to my server!\n');
 *   for await (const chunk of conn) await conn.write(chunk);
 * });
 * console.log(server.address.port);
 */
export async function listen(options: ListenOptions, handler: ConnectionHandler): Promise<Server> {
  const o = { ...listenDefaults, ...defined(options) };
  validatePort(o.port, 'port');
  if (typeof handler !== 'function') throw new TypeError('handler must be a function');
  const netOptions = { allowHalfOpen: true, noDelay: o.noDelay, pauseOnConnect: false };
  const raw = o.tls ? tls.createServer({ ...netOptions, ...o.tls }) : net.createServer(netOptions);
  if (o.tls) {
    // A client that fails its handshake is its own problem, not the server's.
    raw.on('tlsClientError', (_err, socket) => socket.destroy());
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(new ListenError(o.host, o.port, err));
    raw.once('error', onError);
    raw.listen({ host: o.host, port: o.port, backlog: o.backlog, ipv6Only: o.ipv6Only }, () => {
      raw.off('error', onError);
      raw.on('error', (err) => process.stderr.write(`wirekit/net: server error: ${err.message}\n`));
      resolve();
    });
  });
  const server = new Server(raw);
  raw.on(o.tls ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    server.accept(new Stream(socket, o), handler, o.onError);
  });
  return server;
}
