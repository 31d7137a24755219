/**
 * @module wirekit/client/timeouts
 * The total deadline of one call (redirects and body included) and the cancellation signals
 * joined into it; and the mapping of undici's errors to wirekit's.
 */
import {
  AbortError,
  ConnectError,
  SocketError,
  TimeoutError,
  WirekitError,
  type TimeoutPhase,
} from '../errors.js';

/** The parts of an AbortSignal that wirekit's client and undici use. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** What a call's signal cancels directly, without a listener: the hop in flight. */
export interface Cancellable {
  cancel(reason: unknown): void;
}

/**
 * The signal of one call: a few fields, a listener list, and the hop in flight, which it cancels
 * itself (see exchange.ts: undici never sees this signal). A real AbortSignal (an EventTarget
 * behind an AbortController) costs more per request than the rest of the session's own work on
 * it, and every call with a total timeout needs one.
 */
export class CallSignal implements AbortSignalLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | undefined;
  #hop: Cancellable | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    // As on an AbortSignal, a listener added after the abort is never called.
    if (!this.aborted) (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.#listeners;
    const i = listeners === undefined ? -1 : listeners.indexOf(listener);
    if (i !== -1) (listeners as Array<() => void>).splice(i, 1);
  }

  /** Makes `hop` the one an abort cancels (the call's earlier hops are over); cancels it now if aborted. */
  watch(hop: Cancellable): void {
    if (this.aborted) hop.cancel(this.reason);
    else this.#hop = hop;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    const hop = this.#hop;
    this.#listeners = undefined;
    this.#hop = undefined;
    hop?.cancel(reason);
    if (listeners !== undefined) for (const listener of listeners) listener.call(this);
  }
}

/**
 * One signal for the call that fires on the total timeout, the request's signal or the
 * session's. With no total timeout and at most one signal, that signal is used as is and
 * nothing is allocated. It is an EventListener itself, so joining signals makes no closures.
 */
export class Deadline {
  readonly signal: AbortSignalLike | undefined;
  readonly #own: CallSignal | undefined;
  /** The timer of a short total; a long one is on the shared sweep instead. */
  readonly #timer: NodeJS.Timeout | undefined;
  /** @internal When a long total is due (a performance.now() time); 0 when not on the sweep. */
  due = 0;
  /** @internal Its place in the sweep's list; -1 when not there. */
  slot = -1;
  readonly #joined: readonly (AbortSignal | undefined)[];
  readonly #total: number;
  readonly #method: string;
  readonly #url: URL;
  #cleared = false;

  /**
   * `method` and `url` name the call in the timeout's message (built only if it fires); `now`
   * is the call's start, from performance.now().
   */
  constructor(
    total: number,
    method: string,
    url: URL,
    a: AbortSignal | undefined,
    b: AbortSignal | undefined,
    now: number,
  ) {
    this.#total = total;
    this.#method = method;
    this.#url = url;
    if (total === 0 && (a === undefined || b === undefined)) {
      this.signal = a ?? b;
      this.#joined = NONE;
      return;
    }
    const own = new CallSignal();
    this.#own = own;
    this.signal = own;
    this.#joined = a === undefined && b === undefined ? NONE : [a, b];
    for (const s of this.#joined) {
      if (s === undefined) continue;
      if (s.aborted) own.abort(new AbortError(s.reason));
      else s.addEventListener('abort', this, { once: true });
    }
    if (total >= SWEPT_FROM_MS && !own.aborted) {
      this.due = now + total;
      sweep(this);
    } else if (total > 0 && !own.aborted) {
      this.#timer = setTimeout(expire, total, this);
      this.#timer.unref();
    }
  }

  /** A joined signal fired. */
  handleEvent(event: Event): void {
    this.#own?.abort(new AbortError((event.target as AbortSignal).reason));
    this.clear();
  }

  /** The total timeout fired. */
  expire(): void {
    this.#own?.abort(
      new TimeoutError('total', this.#total, `${this.#method} ${this.#url.origin}${this.#url.pathname}`),
    );
    this.clear();
  }

  /** The call is over (body read, or failed): stop the timer and let go of the signals. */
  clear(): void {
    if (this.#cleared) return;
    this.#cleared = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.slot !== -1) unsweep(this);
    for (const s of this.#joined) s?.removeEventListener('abort', this);
  }
}

const NONE: readonly (AbortSignal | undefined)[] = [];

function expire(deadline: Deadline): void {
  deadline.expire();
}

/**
 * Totals of a second and more (the default is five minutes) share one timer: a call puts its
 * deadline in a list and takes it out when it ends, which costs a fraction of a timer of its own
 * per request; every SWEEP_MS the list is checked. Such a timeout fires at most SWEEP_MS after
 * it is due; shorter ones have their own timer, on time.
 */
const SWEPT_FROM_MS = 1_000;
const SWEEP_MS = 100;
/**
 * The deadlines on the sweep, in no order: a call leaves by moving the last one into its slot.
 * (With a Set instead, garbage collection took a fifth of the client's time in the client
 * benchmark, against a twentieth.)
 */
const swept: Deadline[] = [];
let sweeper: NodeJS.Timeout | undefined;

function sweep(deadline: Deadline): void {
  deadline.slot = swept.length;
  swept.push(deadline);
  if (sweeper !== undefined) return;
  sweeper = setInterval(expireDue, SWEEP_MS);
  sweeper.unref();
}

function unsweep(deadline: Deadline): void {
  const last = swept.pop()!;
  if (last !== deadline) {
    swept[deadline.slot] = last;
    last.slot = deadline.slot;
  }
  deadline.slot = -1;
}

function expireDue(): void {
  const now = performance.now();
  // expire() takes a deadline out, moving the last one into its slot: walk from the end.
  for (let i = swept.length - 1; i >= 0; i--) {
    const deadline = swept[i];
    if (deadline !== undefined && deadline.due <= now) deadline.expire();
  }
  if (swept.length === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** What the mapping needs to know of the hop that failed. */
export interface HopContext {
  readonly method: string;
  readonly url: URL;
  readonly timeout: { readonly connect: number; readonly response: number; readonly idle: number };
  readonly signal: AbortSignalLike | undefined;
}

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|HOSTNAME_|ERR_CERT)/;
const SOCKET_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'EPIPE',
]);

function timeout(phase: TimeoutPhase, ms: number, ctx: HopContext): TimeoutError {
  const what =
    phase === 'connect' ? `connect to ${ctx.url.host}` : `${ctx.method} ${ctx.url.origin}${ctx.url.pathname}`;
  return new TimeoutError(phase, ms, what);
}

/** The wirekit error for what undici (or the system) threw while sending or reading a hop. */
export function clientError(err: unknown, ctx: HopContext): unknown {
  if (err instanceof WirekitError) return err;
  if (ctx.signal?.aborted && err === ctx.signal.reason) return new AbortError(err);
  const { code, syscall, name } = (err ?? {}) as { code?: unknown; syscall?: unknown; name?: unknown };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return timeout('connect', ctx.timeout.connect, ctx);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return timeout('response', ctx.timeout.response, ctx);
    case 'UND_ERR_BODY_TIMEOUT':
      return timeout('idle', ctx.timeout.idle, ctx);
    case 'UND_ERR_ABORTED':
      return new AbortError(err);
  }
  if (name === 'AbortError') return new AbortError(err);
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return new SocketError(err);
  if (
    syscall === 'connect' ||
    syscall === 'getaddrinfo' ||
    (typeof code === 'string' && TLS_CODES.test(code))
  ) {
    const port = Number(ctx.url.port) || (ctx.url.protocol === 'https:' ? 443 : 80);
    return new ConnectError(ctx.url.hostname.replace(/^\[|\]$/g, ''), port, err);
  }
  return err;
}
