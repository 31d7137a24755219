/**
 * @module wirekit/client/retry
 * Retries of a hop: which failures and statuses are retried, how long to wait (full jitter on an
 * exponential base, or the server's Retry-After, capped), and a sleep cut short by the call's
 * deadline and signals.
 */
import { ConnectError, SocketError } from '../errors.js';
import type { AbortSignalLike } from './timeouts.js';

/** The wait before retry `n` (1 for the first retry), in milliseconds. */
export type BackoffFunction = (retry: number) => number;

/** Full jitter: a random wait between 0 and `min(max, base * 2 ** (n - 1))` ms. */
export interface BackoffOptions {
  /** **Default:** `300`. */
  base?: number;
  /** **Default:** `10_000`. */
  max?: number;
}

/** When and how a call is sent again. */
export interface RetryOptions {
  /** Retries per call, across its redirect hops; `0` turns retrying off. **Default:** `0`. */
  limit?: number;
  /** Methods that are retried. **Default:** `['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']`. */
  methods?: readonly string[];
  /** Statuses that are retried. **Default:** `[408, 413, 429, 500, 502, 503, 504]`. */
  statusCodes?: readonly number[];
  /** The wait between attempts: full jitter, or your function. **Default:** `{ base: 300, max: 10_000 }`. */
  backoff?: BackoffOptions | BackoffFunction;
  /** The longest Retry-After honoured, in ms; a longer one waits this long. **Default:** `60_000`. */
  maxRetryAfter?: number;
}

/** `retry: 2` is `retry: { limit: 2 }`. */
export type RetryOption = number | RetryOptions;

export const retryDefaults = {
  limit: 0,
  methods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] as readonly string[],
  statusCodes: [408, 413, 429, 500, 502, 503, 504] as readonly number[],
  backoff: { base: 300, max: 10_000 } as BackoffOptions | BackoffFunction,
  maxRetryAfter: 60_000,
} satisfies Required<RetryOptions>;

/** A checked retry policy. */
export interface ResolvedRetry {
  readonly limit: number;
  readonly methods: ReadonlySet<string>;
  readonly statusCodes: ReadonlySet<number>;
  readonly backoff: BackoffFunction;
  readonly maxRetryAfter: number;
  /** What it was made from, so a request's options merge over it. */
  readonly options: Required<RetryOptions>;
}

function checkMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new RangeError(`${what} must be a finite number of ms >= 0, got ${String(value)}`);
  }
  return value;
}

function fullJitter(base: number, max: number): BackoffFunction {
  return (retry) => Math.random() * Math.min(max, base * 2 ** (retry - 1));
}

/** Merges `over` (a request's or the session's option) over `base`; throws on nonsense. */
export function resolveRetry(base: ResolvedRetry | undefined, over: RetryOption | undefined): ResolvedRetry {
  if (over === undefined && base !== undefined) return base;
  const given: RetryOptions = typeof over === 'number' ? { limit: over } : (over ?? {});
  if (typeof given !== 'object' || given === null) throw new TypeError('retry must be a number or an object');
  const o: Required<RetryOptions> = { ...(base?.options ?? retryDefaults) };
  for (const key of Object.keys(given) as (keyof RetryOptions)[]) {
    if (given[key] !== undefined) (o as Record<string, unknown>)[key] = given[key];
  }
  if (!Number.isInteger(o.limit) || o.limit < 0) {
    throw new RangeError(`retry.limit must be an integer >= 0, got ${String(o.limit)}`);
  }
  if (!Array.isArray(o.methods)) throw new TypeError('retry.methods must be an array of methods');
  if (!Array.isArray(o.statusCodes) || o.statusCodes.some((c) => !Number.isInteger(c))) {
    throw new TypeError('retry.statusCodes must be an array of status codes');
  }
  checkMs(o.maxRetryAfter, 'retry.maxRetryAfter');
  let backoff: BackoffFunction;
  if (typeof o.backoff === 'function') {
    backoff = o.backoff;
  } else if (typeof o.backoff === 'object' && o.backoff !== null) {
    const b = { base: 300, max: 10_000, ...o.backoff };
    backoff = fullJitter(checkMs(b.base, 'retry.backoff.base'), checkMs(b.max, 'retry.backoff.max'));
  } else {
    throw new TypeError('retry.backoff must be { base, max } or a function');
  }
  return {
    limit: o.limit,
    methods: new Set(o.methods.map((m) => m.toUpperCase())),
    statusCodes: new Set(o.statusCodes),
    backoff,
    maxRetryAfter: o.maxRetryAfter,
    options: o,
  };
}

/** The policy of a session without `retry`: never retries. */
export const NO_RETRY: ResolvedRetry = resolveRetry(undefined, undefined);

/** System codes of failures that happen before a server could have answered. */
const RETRY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/** Whether a hop's failure (a wirekit error) is a network failure worth another attempt. */
export function retryableError(err: unknown): boolean {
  if (err instanceof SocketError) return true;
  return err instanceof ConnectError && err.systemCode !== undefined && RETRY_CODES.has(err.systemCode);
}

/**
 * Milliseconds to wait from a Retry-After value (delay-seconds or an HTTP-date), capped at
 * `max`; `undefined` when there is none or it does not parse.
 */
export function retryAfter(value: string | string[] | undefined, max: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  let ms: number;
  if (/^\s*\d+\s*$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    // An HTTP-date names a weekday and month; Date.parse alone would take "-1" as a year.
    if (!/[a-z]/i.test(text)) return undefined;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - Date.now());
  }
  return Math.min(ms, max);
}

/** The wait before retry `n`, from the policy's backoff (never negative). */
export function backoffDelay(policy: ResolvedRetry, n: number): number {
  const ms = Number(policy.backoff(n));
  return ms > 0 && Number.isFinite(ms) ? ms : 0;
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
export function sleep(ms: number, signal: AbortSignalLike | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
