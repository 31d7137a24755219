/**
 * @module wirekit/client/cache-policy
 * RFC 9111 rules of a private cache as pure functions: Cache-Control parsing, whether a response
 * may be stored, its freshness lifetime (explicit or heuristic) and current age, Vary matching,
 * and the headers of a revalidation and of a 304's update.
 */
import type { ResponseHeaders } from './response.js';

/** Parsed Cache-Control: `true` for a bare directive, its value otherwise (lowercase names). */
export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

/** What the cache keeps of a response: the head, the body as received (still encoded), times. */
export interface CacheEntry {
  /** The absolute URL without fragment. */
  url: string;
  status: number;
  statusText: string;
  /** As received, without Set-Cookie and hop-by-hop fields. */
  headers: Record<string, string | string[]>;
  /** Names Vary lists (lowercase) and the request's value of each (`null`: absent). */
  vary: Record<string, string | null>;
  /** Epoch ms when the request that got this response was sent. */
  requestTime: number;
  /** Epoch ms when its head arrived. */
  responseTime: number;
  /** The body with its Content-Encoding, as it came off the wire. */
  body: Buffer;
}

/** Statuses a response may be stored for without explicit freshness (RFC 9110 15.1). */
const HEURISTIC_STATUSES = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses wirekit stores with explicit freshness: the above plus redirects it follows. */
const STORABLE_STATUSES = new Set([...HEURISTIC_STATUSES, 302, 303, 307]);
/** Heuristic freshness: 10% of the time since Last-Modified, at most a day (as browsers do). */
const HEURISTIC_FRACTION = 0.1;
export const HEURISTIC_MAX_MS = 24 * 60 * 60 * 1000;

/** Fields never stored nor updated from a 304 (RFC 9111 3.1, 3.2), and Set-Cookie (wirekit). */
const UNSTORED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'age',
]);
/** Fields a 304 must not replace: they describe the stored body. */
const BODY_FIELDS = new Set(['content-length', 'content-encoding', 'content-range', 'content-type']);

function text(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Parses a Cache-Control (or Pragma) value; unknown and malformed directives are kept as is. */
export function parseCacheControl(value: string | string[] | undefined): Directives {
  const header = text(value);
  if (header === undefined || header === '') return EMPTY;
  const out = new Map<string, string | true>();
  for (const part of header.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '' || out.has(name)) continue;
    out.set(
      name,
      eq === -1
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1'),
    );
  }
  return out;
}

/** A delta-seconds directive in ms, or undefined when absent or malformed (RFC 9111 1.2.2). */
export function seconds(cc: Directives, name: string): number | undefined {
  const value = cc.get(name);
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2 ** 31) * 1000;
}

/** An HTTP date in epoch ms, or NaN. */
export function httpDate(value: string | string[] | undefined): number {
  const v = text(value);
  return v === undefined ? NaN : Date.parse(v);
}

/** The request's cache directives; `Pragma: no-cache` counts when there is no Cache-Control. */
export function requestDirectives(headers: Record<string, string>): Directives {
  const cc = headers['cache-control'];
  if (cc !== undefined) return parseCacheControl(cc);
  return headers.pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(headers.pragma)
    ? new Map([['no-cache', true]])
    : EMPTY;
}

/** The Vary field names of a response (lowercase), `['*']` for a wildcard. */
export function varyNames(headers: ResponseHeaders): string[] {
  const vary = text(headers.vary);
  if (vary === undefined) return [];
  const names = vary
    .split(',')
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');
  return names.includes('*') ? ['*'] : names;
}

/**
 * Whether a private cache may store this response to a GET (RFC 9111 3, 3.5). A request with
 * Authorization is held to the shared-cache rule: stored only with `public`, `s-maxage` or
 * `must-revalidate`, because one session often carries many users' credentials.
 */
export function isStorable(
  status: number,
  request: Record<string, string>,
  requestCc: Directives,
  headers: ResponseHeaders,
  cc: Directives,
): boolean {
  if (!STORABLE_STATUSES.has(status)) return false;
  if (cc.has('no-store') || requestCc.has('no-store')) return false;
  if (varyNames(headers)[0] === '*') return false;
  if (
    request.authorization !== undefined &&
    !cc.has('public') &&
    !cc.has('must-revalidate') &&
    !cc.has('s-maxage')
  ) {
    return false;
  }
  if (cc.has('max-age') || headers.expires !== undefined || cc.has('public') || cc.has('private'))
    return true;
  return HEURISTIC_STATUSES.has(status);
}

/**
 * How long the entry is fresh from its generation, in ms (RFC 9111 4.2.1): max-age, else
 * Expires − Date, else the heuristic of 4.2.2 for statuses that allow it. `s-maxage` is for
 * shared caches and ignored.
 */
export function freshnessLifetime(entry: CacheEntry, cc: Directives): number {
  const maxAge = seconds(cc, 'max-age');
  if (maxAge !== undefined) return maxAge;
  const date = dateOf(entry);
  const { headers } = entry;
  if (headers.expires !== undefined) {
    const expires = httpDate(headers.expires);
    return Number.isNaN(expires) ? 0 : Math.max(0, expires - date);
  }
  if (!HEURISTIC_STATUSES.has(entry.status)) return 0;
  const lastModified = httpDate(headers['last-modified']);
  if (Number.isNaN(lastModified) || lastModified >= date) return 0;
  return Math.min(HEURISTIC_MAX_MS, (date - lastModified) * HEURISTIC_FRACTION);
}

function dateOf(entry: CacheEntry): number {
  const date = httpDate(entry.headers.date);
  return Number.isNaN(date) ? entry.responseTime : date;
}

/** The entry's current age in ms at `now` (RFC 9111 4.2.3). */
export function currentAge(entry: CacheEntry, now: number): number {
  const ageValue = Number(text(entry.headers.age) ?? 0) * 1000 || 0;
  const apparentAge = Math.max(0, entry.responseTime - dateOf(entry));
  const responseDelay = entry.responseTime - entry.requestTime;
  const correctedInitialAge = Math.max(apparentAge, ageValue + responseDelay);
  return correctedInitialAge + (now - entry.responseTime);
}

/** Whether the request's values of the entry's Vary fields match (RFC 9111 4.1). */
export function varyMatches(entry: CacheEntry, request: Record<string, string>): boolean {
  for (const name in entry.vary) {
    if (normalize(request[name]) !== entry.vary[name]) return false;
  }
  return true;
}

/** The request's values of the Vary fields, to store with the entry. */
export function varyValues(
  names: readonly string[],
  request: Record<string, string>,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const name of names) out[name] = normalize(request[name]);
  return out;
}

function normalize(value: string | undefined): string | null {
  return value === undefined ? null : value.trim().replace(/\s*,\s*/g, ', ');
}

/** The headers to keep of a response. */
export function storedHeaders(headers: ResponseHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !UNSTORED.has(name)) out[name] = value;
  }
  return out;
}

/** The stored headers updated by a 304's (RFC 9111 3.2, 4.3.4). */
export function updatedHeaders(
  stored: Record<string, string | string[]>,
  fresh: ResponseHeaders,
): Record<string, string | string[]> {
  const out = { ...stored };
  for (const name in fresh) {
    const value = fresh[name];
    if (value !== undefined && !UNSTORED.has(name) && !BODY_FIELDS.has(name)) out[name] = value;
  }
  return out;
}

/** Request headers that make the caller's own conditional or partial request: the cache keeps out. */
export const CALLER_CONDITIONALS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
];

/** The validators to revalidate `entry` with, or undefined when it has none. */
export function conditionals(entry: CacheEntry): Record<string, string> | undefined {
  const etag = text(entry.headers.etag);
  const lastModified = text(entry.headers['last-modified']);
  if (etag === undefined && lastModified === undefined) return undefined;
  const out: Record<string, string> = {};
  if (etag !== undefined) out['if-none-match'] = etag;
  if (lastModified !== undefined) out['if-modified-since'] = lastModified;
  return out;
}
