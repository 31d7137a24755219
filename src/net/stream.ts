/**
 * @module wirekit/net/stream
 * `Stream`: an asyncio-style reader/writer over a TCP (or TLS) socket.
 */
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { drained, handshake } from './handshake.js';
import {
  AbortError,
  ConcurrentReadError,
  ConnectError,
  IncompleteReadError,
  LimitExceededError,
  SocketError,
  StreamClosedError,
  TimeoutError,
  WirekitError,
} from '../errors.js';

/** Options for the reader side of a {@link Stream}. */
export interface StreamOptions {
  /**
   * Bytes `readLine`/`readUntil` buffer while looking for the separator before they throw
   * `LimitExceededError`. Reading from the socket pauses once twice this much is buffered
   * and nobody is reading. **Default:** `65_536`.
   */
  limit?: number;
}

export const streamDefaults: Required<StreamOptions> = { limit: 64 * 1024 };

/** Options for {@link Stream.startTls}: node:tls options plus a handshake timeout. */
export interface StartTlsOptions extends tls.ConnectionOptions {
  /** Act as the TLS server (needs `key` and `cert`, or `secureContext`). **Default:** `false`. */
  server?: boolean;
  /** Handshake timeout in milliseconds; 0 = none. **Default:** `30_000`. */
  timeout?: number;
  signal?: AbortSignal;
}

/** An address of one end of a connection. */
export interface Address {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const RESOLVED: Promise<void> = Promise.resolve();

/** One waiting read: `attempt` returns the result, or `undefined` while more bytes are needed. */
interface PendingRead {
  attempt: () => unknown;
  resolve: (value: never) => void;
  reject: (err: unknown) => void;
}

/**
 * A connected TCP or TLS stream with asyncio's reading and writing methods. `connect()` returns
 * one and `listen()` hands one to its handler. One read may wait at a time; writes may overlap.
 *
 * @example
 * const conn = await connect('127.0.0.1', 9999);
 * console.log(await conn.readLine());   // the banner
 * await conn.write('ping\n');
 * console.log(await conn.readLine());   // 'ping'
 * conn.close();
 */
export class Stream implements AsyncIterable<Buffer> {
  #socket: Socket;
  readonly #limit: number;
  readonly #highWater: number;
  #chunks: Buffer[] = [];
  #length = 0;
  /** Bytes of the buffer already searched for `#scannedFor` by a waiting readUntil. */
  #scanned = 0;
  #scannedFor: Buffer | null = null;
  #eof = false;
  #error: unknown = null;
  #pending: PendingRead | null = null;
  #paused = false;
  #writeError: unknown = null;
  #drainWaiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  #ended = false;
  #closing = false;
  #closed: Promise<void>;
  #onData = (chunk: Buffer) => this.#push(chunk);
  #onEnd = () => this.#peerEnded();
  #onError = (err: unknown) => this.#fail(err);
  #onDrain = () => this.#drained(null);
  #onClose = () => this.#onClosed();

  /** Wraps a connected socket. Most code gets a Stream from `connect()` or `listen()`. */
  constructor(socket: Socket, options: StreamOptions = {}) {
    const { limit } = { ...streamDefaults, ...options };
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    }
    this.#limit = limit;
    this.#highWater = Math.max(2 * limit, 64 * 1024);
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.#attach(socket);
  }

  #attach(socket: Socket): void {
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('drain', this.#onDrain);
    socket.on('close', this.#onClose);
    if (socket.isPaused()) socket.resume();
  }

  #detach(socket: Socket): void {
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('drain', this.#onDrain);
    socket.off('close', this.#onClose);
  }

  // ---- incoming bytes ----------------------------------------------------------------------

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#pending !== null) this.#settle();
    if (this.#length >= this.#highWater && this.#pending === null && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** The peer sent FIN. Our writing side stays open (half-close) until we end it. */
  #peerEnded(): void {
    this.#eof = true;
    if (this.#pending !== null) this.#settle();
  }

  #onClosed(): void {
    this.#peerEnded();
    this.#drained(this.#writeError ?? new StreamClosedError('the stream closed before it drained'));
  }

  #fail(err: unknown): void {
    const error = err instanceof WirekitError ? err : new SocketError(err);
    if (this.#error === null) this.#error = error;
    this.#writeError ??= error;
    this.#eof = true;
    if (this.#pending !== null) this.#settle();
    this.#drained(error);
  }

  /** Runs the waiting read's attempt; resolves or rejects it when it is decided. */
  #settle(): void {
    const pending = this.#pending as PendingRead;
    let result: unknown;
    try {
      result = pending.attempt();
    } catch (err) {
      this.#pending = null;
      pending.reject(err);
      return;
    }
    if (result !== undefined) {
      this.#pending = null;
      pending.resolve(result as never);
    }
  }

  /** Runs `attempt` now; if it needs more bytes, waits for them. */
  #read<T>(attempt: () => T | undefined): Promise<T> {
    if (this.#pending !== null) return Promise.reject(new ConcurrentReadError());
    let result: T | undefined;
    try {
      result = attempt();
    } catch (err) {
      return Promise.reject(err);
    }
    if (result !== undefined) {
      this.#maybeResume();
      return Promise.resolve(result);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending = {
        attempt,
        resolve: (value) => {
          this.#maybeResume();
          resolve(value);
        },
        reject,
      };
      if (this.#paused) {
        this.#paused = false;
        this.#socket.resume();
      }
    });
  }

  #maybeResume(): void {
    if (this.#paused && this.#length < this.#highWater) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /** Rejects when the buffer is drained and the stream failed; `undefined` otherwise. */
  #throwIfFailed(): void {
    if (this.#error !== null) throw this.#error;
  }

  /** Removes and returns the first `n` buffered bytes (n <= #length). */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.#length -= n;
    this.#scanned = 0;
    const first = this.#chunks[0] as Buffer;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0] as Buffer;
      const want = n - offset;
      if (chunk.length <= want) {
        chunk.copy(out, offset);
        offset += chunk.length;
        this.#chunks.shift();
      } else {
        chunk.copy(out, offset, 0, want);
        this.#chunks[0] = chunk.subarray(want);
        offset = n;
      }
    }
    return out;
  }

  /** Joins the buffered chunks into one so a separator can be searched across them. */
  #coalesce(): Buffer {
    if (this.#chunks.length === 0) return EMPTY;
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#length)];
    return this.#chunks[0] as Buffer;
  }

  #indexOf(separator: Buffer): number {
    const buffer = this.#coalesce();
    if (this.#scannedFor !== separator) {
      this.#scannedFor = separator;
      this.#scanned = 0;
    }
    const from = Math.max(0, this.#scanned - separator.length + 1);
    const index = buffer.indexOf(separator, from);
    if (index === -1) this.#scanned = buffer.length;
    return index;
  }

  // ---- reading -------------------------------------------------------------------------------

  /**
   * Up to `n` bytes as soon as any are available; an empty buffer at end of stream.
   * @param n most bytes to return. **Default:** all that is buffered.
   */
  read(n = Number.POSITIVE_INFINITY): Promise<Buffer> {
    if (!(n > 0)) return Promise.reject(new RangeError(`n must be positive, got ${n}`));
    return this.#read(() => this.#tryRead(n));
  }

  #tryRead(n: number): Buffer | undefined {
    if (this.#length > 0) {
      if (this.#chunks.length === 1 || n <= (this.#chunks[0] as Buffer).length) {
        return this.#take(Math.min(n, (this.#chunks[0] as Buffer).length));
      }
      return this.#take(Math.min(n, this.#length));
    }
    this.#throwIfFailed();
    return this.#eof ? EMPTY : undefined;
  }

  /**
   * Exactly `n` bytes. At end of stream first, rejects with `IncompleteReadError` whose
   * `partial` holds the bytes that did arrive (they are consumed).
   */
  readExactly(n: number): Promise<Buffer> {
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(new RangeError(`n must be a non-negative integer, got ${n}`));
    }
    return this.#read(() => {
      if (this.#length >= n) return n === 0 ? EMPTY : this.#take(n);
      this.#throwIfFailed();
      if (this.#eof) throw new IncompleteReadError(this.#take(this.#length), n);
      return undefined;
    });
  }

  /**
   * Bytes up to and including `separator`. Rejects with `LimitExceededError` once `limit`
   * bytes are buffered without it (the bytes stay buffered), and with `IncompleteReadError`
   * (consuming what was buffered) if the stream ends first.
   */
  readUntil(separator: string | Uint8Array = '\n'): Promise<Buffer> {
    const sep = typeof separator === 'string' ? Buffer.from(separator) : Buffer.from(separator);
    if (sep.length === 0) return Promise.reject(new RangeError('separator must not be empty'));
    return this.#read(() => this.#tryUntil(sep, false));
  }

  #tryUntil(sep: Buffer, eofReturnsRest: boolean): Buffer | undefined {
    if (this.#length > 0) {
      const index = this.#indexOf(sep);
      if (index !== -1) {
        if (index + sep.length > this.#limit) throw new LimitExceededError(this.#limit);
        return this.#take(index + sep.length);
      }
      if (this.#length > this.#limit) throw new LimitExceededError(this.#limit);
    }
    this.#throwIfFailed();
    if (!this.#eof) return undefined;
    if (eofReturnsRest) return this.#take(this.#length);
    throw new IncompleteReadError(this.#take(this.#length), undefined);
  }

  /**
   * The next line as a UTF-8 string without its `\n` or `\r\n`; at end of stream the last
   * unterminated line, then `null`. Rejects with `LimitExceededError` like `readUntil`.
   */
  readLine(): Promise<string | null> {
    return this.#read(this.#lineAttempt);
  }

  // Attempts hoisted into fields: the per-line and per-chunk paths allocate no closure.
  #lineAttempt = (): string | null | undefined => {
    if (this.#length === 0 && this.#eof && this.#error === null) return null;
    return this.#tryLine();
  };

  #nextLine = (): IteratorResult<string> | undefined => {
    const line = this.#lineAttempt();
    if (line === undefined) return undefined;
    return line === null ? DONE : { value: line, done: false };
  };

  #nextChunk = (): IteratorResult<Buffer> | undefined => {
    const chunk = this.#tryRead(Number.POSITIVE_INFINITY);
    if (chunk === undefined) return undefined;
    return chunk.length === 0 ? DONE : { value: chunk, done: false };
  };

  #tryLine(): string | null | undefined {
    const first = this.#chunks[0];
    // Fast path: the line is inside the first chunk, as it is for most line protocols.
    if (first !== undefined && this.#scanned === 0) {
      const index = first.indexOf(NEWLINE);
      if (index !== -1 && index < this.#limit) {
        const end = index > 0 && first[index - 1] === CR ? index - 1 : index;
        const line = first.toString('utf8', 0, end);
        if (index + 1 === first.length) this.#chunks.shift();
        else this.#chunks[0] = first.subarray(index + 1);
        this.#length -= index + 1;
        return line;
      }
    }
    const bytes = this.#tryUntil(NEWLINE_BUFFER, true);
    if (bytes === undefined) return undefined;
    if (bytes.length === 0) return null;
    let end = bytes.length;
    if (bytes[end - 1] === NEWLINE) end -= end > 1 && bytes[end - 2] === CR ? 2 : 1;
    return bytes.toString('utf8', 0, end);
  }

  /** Everything until end of stream. Rejects with `LimitExceededError` past `limit` bytes. */
  async readAll(limit = 64 * 1024 * 1024): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const chunk of this) {
      total += chunk.length;
      if (total > limit) throw new LimitExceededError(limit, 'end of stream');
      parts.push(chunk);
    }
    return Buffer.concat(parts, total);
  }

  /** Iterates over chunks as they arrive, until end of stream. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this.#iterate(this.#nextChunk);
  }

  /** Iterates over lines (as `readLine` returns them) until end of stream. */
  lines(): AsyncIterableIterator<string> {
    return this.#iterate(this.#nextLine);
  }

  /**
   * A plain iterator object rather than an async generator: each step is one read promise,
   * without the generator's extra promise and microtask per item.
   */
  #iterate<T>(attempt: () => IteratorResult<T> | undefined): AsyncIterableIterator<T> {
    const iterator: AsyncIterableIterator<T> = {
      next: () => this.#read(attempt),
      return: (value?: unknown) => Promise.resolve({ value: value as T, done: true }),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** True once the peer ended its side and every buffered byte was read. */
  get atEof(): boolean {
    return this.#eof && this.#length === 0;
  }

  /** Bytes received and not read yet. */
  get bufferedLength(): number {
    return this.#length;
  }

  // ---- writing -------------------------------------------------------------------------------

  /**
   * Sends `data` (strings as UTF-8). Resolves once the socket took it, or after its buffer
   * drained when it was full (backpressure). Rejects with `StreamClosedError` after
   * `end()`/`close()` and with `SocketError` when the connection failed.
   */
  write(data: string | Uint8Array): Promise<void> {
    if (this.#writeError !== null) return Promise.reject(this.#writeError);
    const socket = this.#socket;
    if (this.#ended || socket.destroyed || !socket.writable) {
      return Promise.reject(new StreamClosedError('cannot write: the stream is closed'));
    }
    if (socket.write(data)) return RESOLVED;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  #drained(err: unknown): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) {
      if (err === null) waiter.resolve();
      else waiter.reject(err);
    }
  }

  /** Bytes handed to `write` that the kernel has not taken yet. */
  get writableLength(): number {
    return this.#socket.writableLength;
  }

  /**
   * Half-closes: sends FIN after the queued bytes; reading goes on until the peer ends.
   * Resolves once everything written was flushed.
   */
  end(): Promise<void> {
    if (this.#ended || this.#socket.destroyed) return RESOLVED;
    this.#ended = true;
    return new Promise((resolve, reject) => {
      this.#socket.end(() => resolve());
      this.#closed.then(() => {
        if (this.#socket.writableFinished) resolve();
        else reject(this.#writeError ?? new StreamClosedError('closed before flushing'));
      });
    });
  }

  /**
   * Closes the connection: queued bytes are flushed first, then the socket is destroyed.
   * Unread bytes are dropped. `closed` resolves when it is done.
   */
  close(): void {
    const socket = this.#socket;
    if (socket.destroyed || this.#closing) return;
    this.#closing = true;
    if (socket.writableFinished || socket.errored !== null) {
      socket.destroy();
      return;
    }
    // After end() the socket is no longer `writable` but may still be flushing: wait for it too.
    if (!socket.writableEnded) {
      this.#ended = true;
      socket.end();
    }
    socket.once('finish', () => socket.destroy());
    // A peer that never reads would keep the flush waiting forever.
    const timer = setTimeout(() => socket.destroy(), 30_000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * Destroys the connection now, dropping whatever is queued either way: with a TCP RST, unless
   * our FIN is already on its way (after `end()`/`close()`), when the socket is just destroyed.
   */
  abort(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // Once shut down, libuv refuses the reset (EINVAL) and node then never closes the handle.
    const canReset = typeof socket.resetAndDestroy === 'function' && !(socket instanceof tls.TLSSocket);
    if (canReset && !socket.writableEnded) socket.resetAndDestroy();
    else socket.destroy();
  }

  /** Resolves when the socket is fully closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** True once the socket is destroyed. */
  get isClosed(): boolean {
    return this.#socket.destroyed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#closed;
  }

  // ---- addresses and TLS ---------------------------------------------------------------------

  /** This end's address. */
  get local(): Address {
    const s = this.#socket;
    return { address: s.localAddress ?? '', port: s.localPort ?? 0, family: familyOf(s.localAddress) };
  }

  /** The peer's address. */
  get remote(): Address {
    const s = this.#socket;
    return {
      address: s.remoteAddress ?? '',
      port: s.remotePort ?? 0,
      family: familyOf(s.remoteAddress),
    };
  }

  /** True when the stream is TLS. */
  get encrypted(): boolean {
    return this.#socket instanceof tls.TLSSocket;
  }

  /** The underlying node:net (or node:tls) socket, for options wirekit does not cover. */
  get socket(): Socket {
    return this.#socket;
  }

  /**
   * Upgrades this stream to TLS in place (asyncio's `start_tls`), as client or as server.
   * Bytes already received but not read are fed to the handshake, so nothing is lost.
   */
  async startTls(options: StartTlsOptions = {}): Promise<void> {
    if (this.encrypted) throw new TypeError('the stream is already TLS');
    if (this.#pending !== null) throw new ConcurrentReadError();
    const { server = false, timeout = 30_000, signal, ...tlsOptions } = options;
    if (signal?.aborted) throw new AbortError(signal.reason);
    const raw = this.#socket;
    if (this.#writeError !== null) throw this.#writeError;
    if (this.#ended || raw.destroyed) throw new StreamClosedError('cannot start TLS: the stream is closed');
    // Like asyncio's start_tls, the clear-text writes go out first; once the socket is wrapped,
    // its 'drain' would no longer reach the writes waiting on it.
    if (raw.writableNeedDrain) await drained(raw, timeout, signal);
    if (this.#pending !== null) throw new ConcurrentReadError();
    const peer = { host: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
    this.#detach(raw);
    raw.pause();
    if (this.#length > 0) raw.unshift(this.#take(this.#length));
    const secured = server
      ? new tls.TLSSocket(raw, {
          ...tlsOptions,
          isServer: true,
          secureContext: tlsOptions.secureContext ?? tls.createSecureContext(tlsOptions),
        })
      : tls.connect({ ...tlsOptions, socket: raw });
    this.#socket = secured;
    this.#closed = new Promise((resolve) => secured.once('close', () => resolve()));
    try {
      await handshake(secured, server ? 'secure' : 'secureConnect', timeout, signal);
    } catch (err) {
      const error =
        err instanceof TimeoutError || err instanceof AbortError || err instanceof SocketError
          ? err
          : server
            ? new SocketError(err)
            : new ConnectError(peer.host, peer.port, err);
      // The stream is dead: reads and writes must fail rather than wait on a socket nobody watches.
      this.#fail(error);
      throw error;
    }
    this.#attach(secured);
  }
}

const NEWLINE_BUFFER = Buffer.from([NEWLINE]);

function familyOf(address: string | undefined): 'IPv4' | 'IPv6' {
  return address?.includes(':') ? 'IPv6' : 'IPv4';
}
