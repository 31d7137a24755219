/**
 * @module wirekit/server/cookies
 * Request cookies (parsed lazily) and Set-Cookie headers, with optional HMAC signing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Attributes of a cookie set with `ctx.cookies.set`. */
export interface CookieOptions {
  /** Seconds until it expires; 0 deletes it. **Default:** a session cookie. */
  maxAge?: number;
  expires?: Date;
  /** **Default:** `'/'`. */
  path?: string;
  domain?: string;
  /** **Default:** `true`: scripts cannot read it. */
  httpOnly?: boolean;
  /** **Default:** `false` (set it behind HTTPS). */
  secure?: boolean;
  /** **Default:** `'Lax'`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  partitioned?: boolean;
  /** Sign the value with the app's `cookieSecret` so `get(name, { signed: true })` can trust it. */
  signed?: boolean;
}

// RFC 6265 cookie-name is a token; a cookie-value is a restricted ASCII set, so reject the rest.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** Parses a Cookie header into a null-prototype map; the first of duplicate names wins. */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = value.includes('%') ? decodeURIComponent(value) : value;
    } catch {
      out[name] = value;
    }
  }
  return out;
}

/** One Set-Cookie header value. Throws TypeError on a name or attribute that would break it. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  if (!TOKEN.test(name)) throw new TypeError(`invalid cookie name ${JSON.stringify(name)}`);
  const encoded = encodeURIComponent(value);
  if (!VALUE.test(encoded)) throw new TypeError(`invalid cookie value for ${name}`);
  let cookie = `${name}=${encoded}`;
  const { path = '/', httpOnly = true, sameSite = 'Lax' } = options;
  for (const [key, attr] of [
    ['path', path],
    ['domain', options.domain],
  ] as const) {
    if (attr !== undefined && /[;\r\n]/.test(attr)) throw new TypeError(`invalid cookie ${key}`);
  }
  if (options.maxAge !== undefined) {
    if (!Number.isFinite(options.maxAge)) throw new TypeError('cookie maxAge must be a finite number');
    cookie += `; Max-Age=${Math.floor(options.maxAge)}`;
  }
  if (options.expires) cookie += `; Expires=${options.expires.toUTCString()}`;
  if (options.domain) cookie += `; Domain=${options.domain}`;
  cookie += `; Path=${path}`;
  if (httpOnly) cookie += '; HttpOnly';
  if (options.secure || sameSite === 'None') cookie += '; Secure';
  cookie += `; SameSite=${sameSite}`;
  if (options.partitioned) cookie += '; Partitioned';
  return cookie;
}

/** `value.signature`, the signature an HMAC-SHA256 of the value under `secret` (base64url). */
export function sign(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64url')}`;
}

/** The value of a signed cookie, or `undefined` when the signature does not match. */
export function unsign(signed: string, secret: string): string | undefined {
  const dot = signed.lastIndexOf('.');
  if (dot === -1) return undefined;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(sign(value, secret));
  const actual = Buffer.from(signed);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? value : undefined;
}

/** `ctx.cookies`: read the request's cookies, queue Set-Cookie headers for the response. */
export class Cookies {
  readonly #header: string | undefined;
  readonly #secret: string | undefined;
  #parsed: Record<string, string> | undefined;
  /** Set-Cookie values queued for the response. */
  readonly outgoing: string[] = [];

  constructor(header: string | undefined, secret: string | undefined) {
    this.#header = header;
    this.#secret = secret;
  }

  /** The request's cookie `name`; with `signed`, only if its signature is valid. */
  get(name: string, options: { signed?: boolean } = {}): string | undefined {
    this.#parsed ??= parseCookieHeader(this.#header);
    const value = this.#parsed[name];
    if (value === undefined || !options.signed) return value;
    return unsign(value, this.#requireSecret());
  }

  /** Every request cookie, unverified. */
  all(): Record<string, string> {
    this.#parsed ??= parseCookieHeader(this.#header);
    return { ...this.#parsed };
  }

  /** Queues a Set-Cookie header. */
  set(name: string, value: string, options: CookieOptions = {}): void {
    const stored = options.signed ? sign(value, this.#requireSecret()) : value;
    this.outgoing.push(serializeCookie(name, stored, options));
  }

  /** Queues a Set-Cookie that deletes `name` (same path and domain as when it was set). */
  delete(name: string, options: Pick<CookieOptions, 'path' | 'domain'> = {}): void {
    this.outgoing.push(serializeCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) }));
  }

  #requireSecret(): string {
    if (!this.#secret) throw new TypeError('signed cookies need the app option cookieSecret');
    return this.#secret;
  }
}
