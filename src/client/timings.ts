/**
 * @module wirekit/client/timings
 * Per-request timings from cheap `performance.now()` marks. DNS, connect and TLS durations are
 * stamped on the socket by the session's connector (once per connection) and handed to the
 * request that first writes on that socket, through undici's `diagnostics_channel` events
 * `undici:request:create` and `undici:client:sendHeaders`.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';

/** Milliseconds spent in each phase of a request. */
export interface Timings {
  /** Name lookup for a new connection; 0 on a reused connection or an IP literal. */
  dns: number;
  /** TCP handshake of a new connection; 0 on a reused connection. */
  connect: number;
  /** TLS handshake of a new connection; 0 on plain HTTP or a reused connection. */
  tls: number;
  /** From sending the final hop until its response head arrived (includes dns/connect/tls). */
  firstByte: number;
  /** From the response head until the body was fully read; 0 until then. */
  download: number;
  /** From the call until the body was fully read (all redirects included); until then, until the head. */
  total: number;
  /** Whether the final hop went over a connection that was already open. */
  reused: boolean;
}

interface ConnTimes {
  dns: number;
  connect: number;
  tls: number;
  claimed: boolean;
}

const kTimes = Symbol('wirekit.connTimes');
type StampedSocket = Socket & { [kTimes]?: ConnTimes };

/** Clock of one request, all hops. */
export class RequestClock implements Timings {
  dns = 0;
  connect = 0;
  tls = 0;
  firstByte = 0;
  download = 0;
  total = 0;
  reused = true;
  readonly started = performance.now();
  hopStarted = this.started;
  headAt = 0;
  done = false;

  hop(): void {
    this.hopStarted = performance.now();
    this.dns = this.connect = this.tls = 0;
    this.reused = true;
  }

  head(): void {
    this.headAt = performance.now();
    this.firstByte = this.headAt - this.hopStarted;
    this.total = this.headAt - this.started;
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    const now = performance.now();
    this.download = now - this.headAt;
    this.total = now - this.started;
  }

  /** A plain snapshot (for logs and JSON). */
  toJSON(): Timings {
    const { dns, connect, tls, firstByte, download, total, reused } = this;
    return { dns, connect, tls, firstByte, download, total, reused };
  }
}

type Connector = ReturnType<typeof buildConnector>;

/** Wraps an undici connector so every new socket carries its dns/connect/tls durations. */
export function timedConnector(base: Connector): Connector {
  return (options, callback) => {
    const t0 = performance.now();
    let lookedUp = t0;
    let connected = t0;
    const socket = base(options, (err, sock) => {
      if (err === null && sock) {
        const now = performance.now();
        const tls = 'encrypted' in sock && (sock as { encrypted?: boolean }).encrypted === true;
        (sock as StampedSocket)[kTimes] = {
          dns: lookedUp - t0,
          connect: (tls ? connected : now) - lookedUp,
          tls: tls ? now - connected : 0,
          claimed: false,
        };
      }
      callback(err as Error & null, sock as never);
    }) as unknown as Socket | undefined;
    socket?.once('lookup', () => {
      lookedUp = connected = performance.now();
    });
    socket?.once('connect', () => {
      connected = performance.now();
    });
  };
}

let creating: RequestClock | undefined;
let subscribed = false;

/** The clock that owns an undici request: a symbol property, cheaper per request than a WeakMap. */
const kClock = Symbol('wirekit.clock');
type ClockedRequest = { [kClock]?: RequestClock };

function onCreate(message: unknown): void {
  if (creating !== undefined) (message as { request: ClockedRequest }).request[kClock] = creating;
}

function onSendHeaders(message: unknown): void {
  const { request, socket } = message as { request: ClockedRequest; socket: StampedSocket };
  // Most requests go over a connection an earlier one already claimed: nothing to hand over.
  const times = socket[kTimes];
  if (times === undefined || times.claimed) return;
  const clock = request[kClock];
  if (clock === undefined) return;
  times.claimed = true;
  clock.dns = times.dns;
  clock.connect = times.connect;
  clock.tls = times.tls;
  clock.reused = false;
}

/** Subscribes to undici's channels once per process (only when a session wants timings). */
export function watchConnections(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', onCreate);
  diagnostics.subscribe('undici:client:sendHeaders', onSendHeaders);
}

/**
 * Marks `clock` as the owner of the next undici request created; undici builds its Request
 * synchronously inside `dispatcher.request()`, so the session sets this right before that call
 * and clears it right after.
 */
export function claimNext(clock: RequestClock | undefined): void {
  creating = clock;
}
