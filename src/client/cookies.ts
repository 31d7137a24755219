/**
 * @module wirekit/client/cookies
 * The session's cookie jar: tough-cookie (RFC 6265, public-suffix list), read before and written
 * after every hop, redirects included. An empty jar costs one boolean test per hop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { Cookie, CookieJar } from 'tough-cookie';
import type { CookiesOption } from './options.js';

const jarOptions = {
  // Public suffixes (com, co.uk, github.io...) are never a cookie's Domain.
  rejectPublicSuffixes: true,
  // `localhost` (and other special-use names) work as browsers handle them.
  allowSpecialUseDomain: true,
  // http://localhost and loopback addresses are secure contexts, as in browsers.
  allowSecureOnLocal: true,
};

/**
 * The cookies a {@link Session} keeps. `session.cookies` is one; use it to look at or set
 * cookies, or reach the tough-cookie `jar` for anything else.
 *
 * @example
 * session.cookies.set('https://example.com/', 'lang=en; Path=/');
 * session.cookies.list('https://example.com/'); // [Cookie lang=en]
 */
export class Cookies {
  /** The tough-cookie jar (synchronous store). */
  readonly jar: CookieJar;
  /** Where `save()` writes, if persisting. */
  readonly file: string | undefined;
  #empty: boolean;

  constructor(option: Exclude<CookiesOption, false> = true) {
    const o = option === true ? {} : option;
    this.file = o.file;
    if (o.jar !== undefined) {
      this.jar = o.jar;
      this.#empty = false;
    } else if (o.file !== undefined && existsSync(o.file)) {
      try {
        this.jar = CookieJar.deserializeSync(readFileSync(o.file, 'utf8'));
      } catch (err) {
        throw new TypeError(`cookies.file ${o.file} is not a saved cookie jar`, { cause: err });
      }
      this.#empty = false;
    } else {
      this.jar = new CookieJar(undefined, jarOptions);
      this.#empty = true;
    }
  }

  /** The `Cookie` header value for `url`, or '' when no cookie matches. */
  header(url: string): string {
    return this.#empty ? '' : this.jar.getCookieStringSync(url);
  }

  /**
   * Stores the `Set-Cookie` values a response to `url` carried. Cookies the rules refuse (another
   * domain, a public suffix, a malformed line) are ignored, as browsers do.
   */
  store(setCookie: string | readonly string[], url: string): void {
    if (typeof setCookie === 'string') this.#storeOne(setCookie, url);
    else for (const line of setCookie) this.#storeOne(line, url);
  }

  #storeOne(line: string, url: string): void {
    if (this.jar.setCookieSync(line, url, { ignoreError: true }) !== undefined) this.#empty = false;
  }

  /** The cookies that would be sent to `url`; every cookie when `url` is omitted. */
  list(url?: string): Cookie[] {
    if (url !== undefined) return this.jar.getCookiesSync(url);
    const serialized = this.jar.serializeSync();
    return (serialized?.cookies ?? []).flatMap((c) => Cookie.fromJSON(c) ?? []);
  }

  /** The value of cookie `name` as it would be sent to `url`, or undefined. */
  get(url: string, name: string): string | undefined {
    return this.jar.getCookiesSync(url).find((c) => c.key === name)?.value;
  }

  /**
   * Sets a cookie as if `url` had answered with `Set-Cookie: cookie`. Throws when the rules refuse
   * it (a Domain that does not match `url`, a public suffix).
   */
  set(url: string, cookie: string): Cookie {
    const stored = this.jar.setCookieSync(cookie, url);
    if (stored === undefined) throw new TypeError(`cookie refused for ${url}: ${cookie}`);
    this.#empty = false;
    return stored;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.jar.removeAllCookiesSync();
    this.#empty = true;
  }

  /** Writes the jar to `file` (JSON, mode 0600; written aside and renamed, so never half-written). */
  async save(): Promise<void> {
    if (this.file === undefined) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.jar.serializeSync()), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
