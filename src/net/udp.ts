/**
 * @module wirekit/net/udp
 * `bindUdp()`: a UDP socket read with `receive()` or `for await` and written with a `send()`
 * that resolves once the datagram left (asyncio's datagram endpoint, as an async iterator).
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { AbortError, DatagramTooLargeError, ListenError, SocketError, StreamClosedError } from '../errors.js';
import { resolve as resolveHost } from './dns.js';
import type { Address } from './stream.js';

/** Options for {@link bindUdp}. */
export interface UdpOptions {
  /**
   * Address to bind; an IPv6 address (`'::1'`, `'::'`) makes an IPv6 socket, a name is
   * resolved first. **Default:** `'127.0.0.1'`.
   */
  host?: string;
  /** Port to bind; 0 picks a free one (read it from `socket.address.port`). **Default:** `0`. */
  port?: number;
  /** SO_REUSEADDR, so several sockets (multicast listeners) share a port. **Default:** `false`. */
  reuseAddr?: boolean;
  /** With host `'::'`, receive IPv6 only. **Default:** `false`. */
  ipv6Only?: boolean;
  /** Allow sending to broadcast addresses (SO_BROADCAST). **Default:** `false`. */
  broadcast?: boolean;
  /**
   * Datagrams kept while nobody is receiving; newer ones beyond that are dropped and counted
   * in `socket.dropped`. **Default:** `1024`.
   */
  queue?: number;
  /** SO_RCVBUF in bytes (the system may cap it). **Default:** the system's. */
  recvBufferSize?: number;
  /** SO_SNDBUF in bytes (the system may cap it). **Default:** the system's. */
  sendBufferSize?: number;
  /** Aborting it closes the socket. **Default:** none. */
  signal?: AbortSignal;
}

export const udpDefaults = {
  host: '127.0.0.1',
  port: 0,
  reuseAddr: false,
  ipv6Only: false,
  broadcast: false,
  queue: 1024,
  recvBufferSize: undefined,
  sendBufferSize: undefined,
  signal: undefined,
} satisfies UdpOptions;

/** One received datagram and who sent it. */
export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** 65535 minus the IPv4 (20) and UDP (8) headers. */
const MAX_IPV4_PAYLOAD = 65_507;
/** 65535 minus the UDP header: the IPv6 payload length does not count the IPv6 header. */
const MAX_IPV6_PAYLOAD = 65_527;

interface Waiter {
  resolve: (datagram: Datagram | null) => void;
  reject: (err: unknown) => void;
}

/**
 * A bound UDP socket, from {@link bindUdp}. Datagrams that arrive while nobody is receiving
 * wait in a bounded queue; several `receive()` calls may wait at once and are served in order.
 *
 * @example
 * const udp = await bindUdp();
 * await udp.send('ping', 9999, '127.0.0.1');
 * const reply = await udp.receive(); // { data, address, port, family }, or null once closed
 * await udp.close();
 */
export class UdpSocket implements AsyncIterable<Datagram> {
  readonly #socket: dgram.Socket;
  readonly #address: Address;
  readonly #loopback: string;
  readonly #limit: number;
  readonly #queueSize: number;
  readonly #signal: AbortSignal | undefined;
  #queue: Datagram[] = [];
  #waiters: Waiter[] = [];
  #sends = new Set<(err: unknown) => void>();
  #error: unknown = null;
  #dropped = 0;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #socketClosed: Promise<void>;
  readonly #onAbort = () => void this.close();

  /** @internal use {@link bindUdp}. */
  constructor(socket: dgram.Socket, queue: number, signal: AbortSignal | undefined) {
    this.#socket = socket;
    const a = socket.address();
    const family = a.family === 'IPv6' ? 'IPv6' : 'IPv4';
    this.#address = { address: a.address, port: a.port, family };
    this.#limit = family === 'IPv6' ? MAX_IPV6_PAYLOAD : MAX_IPV4_PAYLOAD;
    // A socket bound to a v4-mapped address talks IPv4 only, so ::1 is out of its reach.
    this.#loopback =
      family === 'IPv4' ? '127.0.0.1' : a.address.startsWith('::ffff:') ? '::ffff:127.0.0.1' : '::1';
    this.#queueSize = queue;
    this.#signal = signal;
    this.#socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data, rinfo) => this.#push(data, rinfo));
    socket.on('error', (err) => this.#fail(err));
    socket.once('close', () => this.#finish());
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (signal?.aborted) void this.close();
  }

  #push(data: Buffer, rinfo: dgram.RemoteInfo): void {
    const datagram: Datagram = {
      data,
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 'IPv6' : 'IPv4',
    };
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(datagram);
    else if (this.#queue.length < this.#queueSize) this.#queue.push(datagram);
    else this.#dropped++;
  }

  /** A receive error (rare on UDP) goes to the waiting receive, or the next one. */
  #fail(err: unknown): void {
    const error = new SocketError(err);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.reject(error);
    else this.#error ??= error;
  }

  /** Marks the socket closed: waiting receives get `null`, unsent datagrams are rejected. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve(null);
    const closedError = new StreamClosedError('the UDP socket closed before the datagram was sent');
    for (const settle of [...this.#sends]) settle(closedError);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  /**
   * Sends one datagram (strings as UTF-8) to `port` on `host`. Resolves once the system took
   * it. Rejects with `DatagramTooLargeError` past 65,507 bytes on IPv4 (65,527 on IPv6) without
   * sending, with `StreamClosedError` once closed, and with `SocketError` for other failures.
   * An IPv4 address on an IPv6 socket is sent to its v4-mapped form (`::ffff:a.b.c.d`).
   * @param host **Default:** the loopback address of the socket's family.
   */
  send(data: string | Uint8Array, port: number, host: string = this.#loopback): Promise<void> {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      return Promise.reject(new TypeError('data must be a string or a Uint8Array'));
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return Promise.reject(new RangeError(`port must be an integer from 1 to 65535, got ${port}`));
    }
    if (typeof host !== 'string' || host === '') {
      return Promise.reject(new TypeError('host must be a non-empty string'));
    }
    if (this.#closed) return Promise.reject(new StreamClosedError('cannot send: the UDP socket is closed'));
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (size > this.#limit) return Promise.reject(new DatagramTooLargeError(size, this.#limit));
    const target = this.#address.family === 'IPv6' && net.isIPv4(host) ? `::ffff:${host}` : host;
    return new Promise((resolve, reject) => {
      const settle = (err: unknown) => {
        if (!this.#sends.delete(settle)) return;
        if (err === null || err === undefined) resolve();
        else reject(err);
      };
      // Node never calls back when the socket closes during a send's address lookup, so
      // #finish() settles whatever is still here.
      this.#sends.add(settle);
      try {
        this.#socket.send(data, port, target, (err) => settle(err && sendError(err, size, target)));
      } catch (err) {
        settle(sendError(err, size, target));
      }
    });
  }

  /** The next datagram, waiting for one if needed; `null` once the socket is closed. */
  receive(): Promise<Datagram | null> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#error !== null) {
      const error = this.#error;
      this.#error = null;
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Iterates over incoming datagrams until the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Datagram> {
    for (;;) {
      const datagram = await this.receive();
      if (datagram === null) return;
      yield datagram;
    }
  }

  /** The bound address; `port` is the real one when 0 was asked for. Still readable after close. */
  get address(): Address {
    return { ...this.#address };
  }

  /** Datagrams dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True once the socket is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The node:dgram socket, for options wirekit does not cover. */
  get socket(): dgram.Socket {
    return this.#socket;
  }

  /** Allows or forbids sending to broadcast addresses (SO_BROADCAST). */
  setBroadcast(on: boolean): void {
    this.#option(() => this.#socket.setBroadcast(on));
  }

  /**
   * Joins a multicast group. `iface` is the local address of the interface to join on
   * (`'127.0.0.1'` for loopback); by default the system picks one from its routes.
   */
  addMembership(group: string, iface?: string): void {
    checkIp(group, 'group');
    this.#option(() => this.#socket.addMembership(group, iface));
  }

  /** Leaves a multicast group joined with {@link addMembership}. */
  dropMembership(group: string, iface?: string): void {
    checkIp(group, 'group');
    this.#option(() => this.#socket.dropMembership(group, iface));
  }

  /** Hops multicast datagrams may take (IP_MULTICAST_TTL), 0 to 255. The system's default is 1. */
  setMulticastTtl(ttl: number): void {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new RangeError(`ttl must be an integer from 0 to 255, got ${ttl}`);
    }
    this.#option(() => this.#socket.setMulticastTTL(ttl));
  }

  /** Whether multicast datagrams sent from this host come back to its own members. */
  setMulticastLoopback(on: boolean): void {
    this.#option(() => this.#socket.setMulticastLoopback(on));
  }

  /**
   * The interface multicast datagrams leave from: its IPv4 address (`'127.0.0.1'`), or for
   * IPv6 `'::%' + name` (`'::%lo'`).
   */
  setMulticastInterface(iface: string): void {
    if (typeof iface !== 'string' || iface === '') throw new TypeError('iface must be a non-empty string');
    this.#option(() => this.#socket.setMulticastInterface(iface));
  }

  #option(apply: () => unknown): void {
    if (this.#closed) throw new StreamClosedError('the UDP socket is closed');
    try {
      apply();
    } catch (err) {
      // Node's argument errors stay TypeErrors; what the system refused becomes a SocketError.
      if (err instanceof TypeError || err instanceof RangeError) throw err;
      throw new SocketError(err);
    }
  }

  /**
   * Closes the socket. Waiting `receive()` calls resolve `null`, iteration ends, unread
   * datagrams are dropped. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.#closing === null) {
      const wasClosed = this.#closed;
      this.#finish();
      this.#closing = this.#socketClosed;
      if (!wasClosed) this.#socket.close();
    }
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function sendError(err: unknown, size: number, host: string): Error {
  if ((err as { code?: unknown }).code === 'EMSGSIZE') {
    const ipv4 = net.isIPv4(host) || host.toLowerCase().startsWith('::ffff:');
    return new DatagramTooLargeError(size, ipv4 ? MAX_IPV4_PAYLOAD : MAX_IPV6_PAYLOAD);
  }
  return new SocketError(err);
}

function checkIp(address: string, name: string): void {
  if (typeof address !== 'string' || net.isIP(address) === 0) {
    throw new TypeError(`${name} must be an IP address, got ${String(address)}`);
  }
}

function checkSize(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new RangeError(`${name} must be a positive integer (bytes), got ${value}`);
  }
}

/**
 * Binds a UDP socket. Rejects with `ListenError` (e.g. `EADDRINUSE`) when the address cannot
 * be bound, and with `AbortError` when `signal` aborts first.
 *
 * @example
 * await using udp = await bindUdp({ port: 9999 });
 * for await (const { data, address, port } of udp) {
 *   await udp.send(data, port, address); // echo
 * }
 */
export async function bindUdp(options: UdpOptions = {}): Promise<UdpSocket> {
  const o = { ...udpDefaults, ...options };
  if (typeof o.host !== 'string' || o.host === '') throw new TypeError('host must be a non-empty string');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${o.port}`);
  }
  if (!Number.isSafeInteger(o.queue) || o.queue < 0) {
    throw new RangeError(`queue must be a non-negative integer, got ${o.queue}`);
  }
  checkSize(o.recvBufferSize, 'recvBufferSize');
  checkSize(o.sendBufferSize, 'sendBufferSize');
  const signal = o.signal;
  if (signal?.aborted) throw new AbortError(signal.reason);

  let address = o.host;
  if (net.isIP(address) === 0) {
    try {
      const [first] = await resolveHost(address, { signal });
      if (first !== undefined) address = first.address;
    } catch (err) {
      if (err instanceof AbortError) throw err;
      throw new ListenError(o.host, o.port, (err as Error).cause ?? err);
    }
  }
  const socket = dgram.createSocket({
    type: net.isIPv6(address) ? 'udp6' : 'udp4',
    reuseAddr: o.reuseAddr,
    ipv6Only: o.ipv6Only,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => done(new ListenError(o.host, o.port, err));
    const onAbort = () => done(new AbortError(signal?.reason));
    let settled = false;
    function done(err: unknown): void {
      if (settled) return;
      settled = true;
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      if (err === null) {
        resolve();
        return;
      }
      try {
        socket.close();
      } catch {
        // Already closed: nothing left to release.
      }
      reject(err);
    }
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.bind({ port: o.port, address }, () => {
      try {
        if (o.broadcast) socket.setBroadcast(true);
        if (o.recvBufferSize !== undefined) socket.setRecvBufferSize(o.recvBufferSize);
        if (o.sendBufferSize !== undefined) socket.setSendBufferSize(o.sendBufferSize);
        done(null);
      } catch (err) {
        onError(err);
      }
    });
  });
  return new UdpSocket(socket, o.queue, signal);
}
