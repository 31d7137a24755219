/**
 * @module wirekit/net/dns
 * `resolve()` and `reverse()`: the system resolver (getaddrinfo / getnameinfo, so /etc/hosts
 * counts) with a timeout, an AbortSignal and `DnsError`s.
 */
import { promises as dns } from 'node:dns';
import * as net from 'node:net';
import { AbortError, DnsError, TimeoutError } from '../errors.js';

/** One address a name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Options for {@link resolve}. */
export interface ResolveOptions {
  /** 4 or 6 for that family only; 0 for both. **Default:** `0`. */
  family?: 0 | 4 | 6;
  /** Milliseconds before `TimeoutError`; 0 = none. **Default:** `10_000`. */
  timeout?: number;
  /** Aborting it rejects with `AbortError`. **Default:** none. */
  signal?: AbortSignal;
}

export const resolveDefaults = {
  family: 0,
  timeout: 10_000,
  signal: undefined,
} satisfies ResolveOptions;

/** Options for {@link reverse}. */
export interface ReverseOptions {
  /** Milliseconds before `TimeoutError`; 0 = none. **Default:** `10_000`. */
  timeout?: number;
  /** Aborting it rejects with `AbortError`. **Default:** none. */
  signal?: AbortSignal;
}

export const reverseDefaults = {
  timeout: 10_000,
  signal: undefined,
} satisfies ReverseOptions;

/**
 * The addresses `host` resolves to, in the order the system gives them, without duplicates.
 * Uses getaddrinfo like `connect()` does, so /etc/hosts counts. An IP literal resolves to itself.
 * Rejects with `DnsError` (`systemCode` `ENOTFOUND`, `EAI_AGAIN`...), `TimeoutError` (phase
 * `'dns'`) or `AbortError`. A timed-out lookup keeps its resolver thread until the system gives up.
 *
 * @example
 * const addresses = await resolve('localhost', { family: 4, timeout: 2_000 });
 * // [{ address: '127.0.0.1', family: 4 }]
 */
export async function resolve(host: string, options: ResolveOptions = {}): Promise<ResolvedAddress[]> {
  const o = { ...resolveDefaults, ...options };
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string');
  if (![0, 4, 6].includes(o.family)) throw new RangeError(`family must be 0, 4 or 6, got ${o.family}`);
  checkTimeout(o.timeout);
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);

  const literal = net.isIP(host);
  if (literal !== 0) {
    if (o.family !== 0 && o.family !== literal) {
      throw new DnsError(
        host,
        Object.assign(new Error(`${host} is not an IPv${o.family} address`), {
          code: 'EAI_ADDRFAMILY',
        }),
      );
    }
    return [{ address: host, family: literal as 4 | 6 }];
  }
  const found = await bounded(
    dns.lookup(host, { all: true, family: o.family, order: 'verbatim' }),
    host,
    o.timeout,
    o.signal,
    `resolve ${host}`,
  );
  const seen = new Set<string>();
  const addresses: ResolvedAddress[] = [];
  for (const { address, family } of found) {
    if (seen.has(address)) continue;
    seen.add(address);
    addresses.push({ address, family: family === 6 ? 6 : 4 });
  }
  return addresses;
}

/**
 * The host name of an IP address (getnameinfo: /etc/hosts, then reverse DNS), as a one-element
 * array. Rejects with `TypeError` when `ip` is not an IP address, `DnsError` when it has no name,
 * `TimeoutError` (phase `'dns'`) or `AbortError`.
 *
 * @example
 * await reverse('127.0.0.1'); // ['localhost']
 */
export async function reverse(ip: string, options: ReverseOptions = {}): Promise<string[]> {
  const o = { ...reverseDefaults, ...options };
  if (typeof ip !== 'string' || net.isIP(ip) === 0) {
    throw new TypeError(`ip must be an IPv4 or IPv6 address, got ${String(ip)}`);
  }
  checkTimeout(o.timeout);
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);
  const { hostname } = await bounded(dns.lookupService(ip, 0), ip, o.timeout, o.signal, `reverse ${ip}`);
  return [hostname];
}

function checkTimeout(timeout: number): void {
  if (!(timeout >= 0) || timeout === Number.POSITIVE_INFINITY) {
    throw new RangeError(`timeout must be a finite number of ms >= 0, got ${timeout}`);
  }
}

/**
 * Races a system lookup against the timeout and the signal. getaddrinfo cannot be cancelled:
 * the lookup goes on in the background and its late answer is ignored.
 */
function bounded<T>(
  lookup: Promise<T>,
  name: string,
  timeout: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer =
      timeout > 0 ? setTimeout(() => done(new TimeoutError('dns', timeout, what)), timeout) : undefined;
    const onAbort = () => done(new AbortError(signal?.reason));
    let settled = false;
    function done(err: unknown, value?: T): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err === null) resolve(value as T);
      else reject(err);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    lookup.then(
      (value) => done(null, value),
      (err: unknown) => done(new DnsError(name, err)),
    );
  });
}
