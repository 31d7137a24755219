/**
 * @module wirekit/html/resolve
 * `UrlResolver`: resolves attribute values against a document's base URL, with a fast path for
 * the plain relative and http(s) references that make up most of a page.
 */

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const QUESTION = 0x3f;
const HASH = 0x23;
const DOT = 0x2e;
const PERCENT = 0x25;
const COLON = 0x3a;

// Characters the WHATWG URL parser copies unchanged, per part. Deliberately narrower than the
// standard's percent-encode sets (which have changed over time): anything else takes `new URL`.
const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
const PATH = table(`${UNRESERVED}!$&'()*+,;=:@%`);
// Special-scheme queries percent-encode the apostrophe.
const QUERY = table(`${UNRESERVED}!$&()*+,;=:@%/?`);
const FRAGMENT = table(`${UNRESERVED}!$&'()*+,;=:@%/?`);

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** Whether `value[i..]` is a path (then maybe `?query`, `#fragment`) the URL parser keeps as is. */
function verbatimPath(value: string, i: number): boolean {
  let segmentStart = true;
  for (const n = value.length; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === SLASH) {
      segmentStart = true;
      continue;
    }
    if (c === QUESTION) return verbatimQuery(value, i + 1);
    if (c === HASH) return verbatimIn(FRAGMENT, value, i + 1);
    // A segment starting with '.' or '%' may be a dot segment ('..', '%2e'): the parser removes it.
    if (c >= 128 || PATH[c] === 0 || (segmentStart && (c === DOT || c === PERCENT))) return false;
    segmentStart = false;
  }
  return true;
}

function verbatimQuery(value: string, i: number): boolean {
  for (const n = value.length; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === HASH) return verbatimIn(FRAGMENT, value, i + 1);
    if (c >= 128 || QUERY[c] === 0) return false;
  }
  return true;
}

function verbatimIn(allowed: Uint8Array, value: string, i: number): boolean {
  for (const n = value.length; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || allowed[c] === 0) return false;
  }
  return true;
}

/**
 * Whether `value[start..]` is `host/path...` with a host the parser keeps as is: lowercase ASCII
 * labels, no IDNA (`xn--`) label, no port or credentials, not an IPv4 address (the last label
 * starts with a letter), followed by a verbatim path.
 */
function verbatimHostAndPath(value: string, start: number): boolean {
  const n = value.length;
  let label = start;
  let i = start;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === SLASH) break;
    if (c === DOT) {
      if (i === label) return false;
      label = i + 1;
    } else if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d) {
      if (i === label && c === 0x78 && value.startsWith('xn--', i)) return false;
    } else {
      return false;
    }
  }
  if (i === n || i === label) return false;
  const first = value.charCodeAt(label);
  return first >= 0x61 && first <= 0x7a && verbatimPath(value, i + 1);
}

/**
 * Whether a URL with this serialization can be a base for relative references: it has a
 * hierarchical path (`https://host/...`, `file:///...`), not an opaque one (`mailto:x`, `data:...`).
 */
export function isHierarchical(href: string): boolean {
  return href.charCodeAt(href.indexOf(':') + 1) === SLASH;
}

/**
 * Whether an attribute value names its own scheme (`mailto:x`, `java\tscript:...`), as opposed to
 * a relative reference that takes the base's. Leading spaces and controls, and tabs and newlines
 * anywhere, are ignored as the URL parser ignores them.
 */
export function hasScheme(value: string): boolean {
  const n = value.length;
  let i = 0;
  while (i < n && value.charCodeAt(i) <= 0x20) i++;
  let letters = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === COLON) return letters > 0;
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    if (
      letters === 0 ? !alpha : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === DOT)
    ) {
      return false;
    }
    letters++;
  }
  return false;
}

/**
 * The origin of a serialized URL as `scheme://host[:port]`, or `null` for an opaque origin. `file:`
 * URLs get `file://host` so that a local document's links can be same-origin with it.
 */
export function originOf(href: string): string | null {
  const colon = href.indexOf(':');
  const scheme = href.slice(0, colon);
  if (!TUPLE_ORIGIN_SCHEMES.has(scheme)) return null;
  const start = colon + 3;
  let end = href.indexOf('/', start);
  if (end < 0) end = href.length;
  const at = href.lastIndexOf('@', end);
  return `${scheme}://${href.slice(at >= start ? at + 1 : start, end)}`;
}

const TUPLE_ORIGIN_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file']);

/** One reference of each shape the fast path builds from the base's parts. */
const PROBES = ['', '#f', '?q', 'p', '/p'];

/** What {@link UrlResolver.resolve} last resolved: how much the caller knows without looking. */
export const RELATIVE = 0; // a relative reference: same scheme and origin as the base
export const HTTP = 1; // an absolute http: URL
export const HTTPS = 2; // an absolute https: URL
export const OTHER = 3; // anything `new URL` resolved

/**
 * Resolves URL attribute values against a base URL, as `new URL(value, base).href` does, and
 * returns `null` where that throws. The base's parts are computed once per base.
 */
export class UrlResolver {
  /** RELATIVE, HTTP, HTTPS or OTHER: the kind of the last value resolved. */
  kind = OTHER;
  #base = '';
  /** Whether the base is http(s), so the fast path applies. */
  #fast = false;
  /** `scheme://[userinfo@]host[:port]` */
  #authority = '';
  /** The base up to its last '/', for path-relative references. */
  #directory = '';
  /** The base without query and fragment, for `?query` references. */
  #path = '';
  /** The base without fragment, for `#fragment` references and the empty reference. */
  #document = '';

  /** `base` must be the `href` of a hierarchical URL. */
  constructor(base: string) {
    this.base = base;
  }

  get base(): string {
    return this.#base;
  }

  set base(href: string) {
    this.#base = href;
    this.#fast = href.startsWith('https://') || href.startsWith('http://');
    const hash = href.indexOf('#');
    this.#document = hash < 0 ? href : href.slice(0, hash);
    const query = this.#document.indexOf('?');
    this.#path = query < 0 ? this.#document : this.#document.slice(0, query);
    this.#directory = this.#path.slice(0, this.#path.lastIndexOf('/') + 1);
    const pathStart = href.indexOf('/', href.indexOf(':') + 3);
    this.#authority = pathStart < 0 ? href : href.slice(0, pathStart);
    // The parts must give what `new URL` gives, whose quirks vary by version (node 20 drops a
    // base's empty query): a base where a probe differs goes the slow way.
    if (this.#fast) {
      for (const probe of PROBES) {
        if (this.#resolveFast(probe) !== new URL(probe, href).href) this.#fast = false;
      }
    }
  }

  /** The absolute URL `value` refers to, or `null` if it does not parse. */
  resolve(value: string): string | null {
    if (this.#fast) {
      const fast = this.#resolveFast(value);
      if (fast !== null) return fast;
    }
    this.kind = OTHER;
    try {
      return new URL(value, this.#base).href;
    } catch {
      return null;
    }
  }

  /** The result for the common shapes of reference, or `null` to let `new URL` decide. */
  #resolveFast(value: string): string | null {
    this.kind = RELATIVE;
    if (value.length === 0) return this.#document;
    const c = value.charCodeAt(0);
    if (c === SLASH) {
      const next = value.charCodeAt(1);
      if (next === SLASH || next === BACKSLASH) return null;
      return verbatimPath(value, 1) ? this.#authority + value : null;
    }
    if (c === HASH) return verbatimIn(FRAGMENT, value, 1) ? this.#document + value : null;
    if (c === QUESTION) return verbatimQuery(value, 1) ? this.#path + value : null;
    // A ':' before the first '/', '?' or '#' makes the value absolute (or an error).
    for (let i = 0, n = value.length; i < n; i++) {
      const d = value.charCodeAt(i);
      if (d === SLASH || d === QUESTION || d === HASH) break;
      if (d === COLON) {
        if (value.startsWith('https://')) {
          this.kind = HTTPS;
          return verbatimHostAndPath(value, 8) ? value : null;
        }
        if (value.startsWith('http://')) {
          this.kind = HTTP;
          return verbatimHostAndPath(value, 7) ? value : null;
        }
        return null;
      }
    }
    return verbatimPath(value, 0) ? this.#directory + value : null;
  }
}
