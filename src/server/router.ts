/**
 * @module wirekit/server/router
 * Route tables on find-my-way (a radix tree): lookup by method and path, and the methods a path
 * allows (for 405 + Allow).
 */
import FindMyWay, { type HTTPMethod } from 'find-my-way';

/** Methods wirekit routes; `all` registers every one of them. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

/** Options of a {@link Router}. */
export interface RouterOptions {
  /** `'strict'`: `/a/` and `/a` are different routes; `'ignore'`: they are the same. */
  trailingSlash: 'strict' | 'ignore';
  /** Longest accepted route parameter; a longer one is a 404. */
  maxParamLength: number;
}

/** What a successful lookup gives: the route's value and its decoded parameters. */
export interface Match<T> {
  value: T;
  params: Record<string, string>;
}

const NO_HANDLER = () => undefined;

/** A method + path table whose values are `T` (the app stores a route's compiled chain). */
export class Router<T> {
  readonly #tree: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  /** Registered methods per path pattern: HEAD is answered from GET, and 405 needs the list. */
  readonly #methods = new Set<Method>();
  /**
   * Paths without parameters or wildcards, by method: an exact hit skips the tree. A miss (an
   * escaped or trailing-slash variant, a parameter route) still goes to find-my-way, so the
   * answers are the same, only the common case is cheaper.
   */
  readonly #exact = new Map<string, Map<string, T>>();

  constructor(options: RouterOptions) {
    this.#tree = FindMyWay({
      ignoreTrailingSlash: options.trailingSlash === 'ignore',
      maxParamLength: options.maxParamLength,
      caseSensitive: true,
    });
  }

  /** Adds `value` for `method` and `path` (`:param`, `*` wildcard). Throws on a duplicate. */
  add(method: Method, path: string, value: T): void {
    this.#tree.on(method as HTTPMethod, path, NO_HANDLER, value);
    this.#methods.add(method);
    if (!/[:*(]/.test(path)) {
      let paths = this.#exact.get(method);
      if (paths === undefined) this.#exact.set(method, (paths = new Map()));
      paths.set(path, value);
    }
  }

  /**
   * The route for `method` and `path` (no query string), or `null`. HEAD falls back to GET.
   * A path with a malformed percent-encoding matches nothing (`null`).
   */
  find(method: string, path: string): Match<T> | null {
    // HEAD goes to the tree: a HEAD route with parameters there wins over an exact GET.
    if (method !== 'HEAD') {
      const exact = this.#exact.get(method)?.get(path);
      if (exact !== undefined) return { value: exact, params: {} };
    }
    const found = this.#tree.find(method as HTTPMethod, path);
    if (found !== null) return { value: found.store as T, params: found.params as Record<string, string> };
    if (method === 'HEAD') return this.find('GET', path);
    return null;
  }

  /** The methods some route answers for `path`, for a 405's Allow header; empty when none. */
  allowed(path: string): Method[] {
    const allowed: Method[] = [];
    for (const method of this.#methods) {
      if (this.#tree.find(method as HTTPMethod, path) !== null) allowed.push(method);
    }
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.push('HEAD');
    return allowed;
  }
}
