/**
 * @module wirekit/client/cache
 * The session's private HTTP cache (RFC 9111): one step of the hop loop that answers a hop from
 * a store when the entry is fresh, revalidates it with its validators when it is not (or in the
 * background under stale-while-revalidate), stores what may be stored as the caller reads it,
 * and forgets a URL after an unsafe method.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { DiskCacheStore } from './cache-disk-store.js';
import type { ResolvedCacheOptions, RequestCacheMode } from './cache-options.js';
import {
  CALLER_CONDITIONALS,
  type CacheEntry,
  conditionals,
  currentAge,
  type Directives,
  freshnessLifetime,
  isStorable,
  parseCacheControl,
  requestDirectives,
  seconds,
  storedHeaders,
  updatedHeaders,
  varyMatches,
  varyNames,
  varyValues,
} from './cache-policy.js';
import { type CacheStore, MemoryCacheStore } from './cache-store.js';
import { CacheTap, type DumpableBody } from './cache-tap.js';
import { type Hop, isRedirect } from './redirects.js';
import type { HopContext } from './timeouts.js';
import { RequestClock } from './timings.js';

/** How a response came from the cache: fresh, stale (revalidating in the background), or after a 304. */
export type CacheState = 'hit' | 'stale' | 'revalidated';

/** A hop's response, with how the cache answered it (absent: from the network). */
export type CachedData = Dispatcher.ResponseData & { cacheState?: CacheState };

/** What the cache needs of its session. */
export interface CacheHooks {
  /** Sends one hop (the session's `#send`). */
  send(hop: Hop, context: HopContext, clock: RequestClock): Promise<Dispatcher.ResponseData>;
  /** The jar's Cookie value for `url` (`''` when none), for `Vary: Cookie`. */
  cookieHeader(url: string): string;
  /** Applies a background revalidation's Set-Cookie to the jar. */
  setCookie(value: string | string[], url: string): void;
}

/** Background revalidations under way at once; more stale hits skip revalidating. */
export const MAX_BACKGROUND = 4;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function ignore(): void {}

/** The entry's key: the URL without fragment. */
function keyOf(url: URL): string {
  return url.hash === '' ? url.href : url.href.slice(0, url.href.indexOf('#'));
}

/** An in-memory body with undici's `dump()`, so the session treats it like one off the wire. */
function cachedBody(bytes: Buffer | undefined): DumpableBody {
  const body = Readable.from(bytes === undefined || bytes.length === 0 ? [] : [bytes]) as DumpableBody;
  body.dump = () => {
    body.destroy();
    return Promise.resolve(null);
  };
  return body;
}

/**
 * The cache of one session. `exchange` takes the place of sending a hop: it may answer it from
 * the store, send it conditionally, or send it as is.
 */
export class HttpCache {
  readonly store: CacheStore;
  readonly #maxEntrySize: number;
  readonly #hooks: CacheHooks;
  /** Background revalidations by URL, with the controller that aborts each. */
  readonly #background = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Store writes under way, so close() can wait for them. */
  readonly #writes = new Set<Promise<void>>();
  #closed = false;

  constructor(options: ResolvedCacheOptions, hooks: CacheHooks) {
    this.store =
      options.dir === undefined
        ? new MemoryCacheStore({ maxSize: options.maxSize })
        : new DiskCacheStore(options.dir, { maxSize: options.maxSize });
    this.#maxEntrySize = options.maxEntrySize;
    this.#hooks = hooks;
  }

  /** Answers `hop`: from the store, by revalidating, or from the network (storing the answer). */
  async exchange(
    hop: Hop,
    context: HopContext,
    clock: RequestClock,
    mode: RequestCacheMode | undefined,
  ): Promise<CachedData> {
    const { method, headers } = hop;
    if (method !== 'GET' && method !== 'HEAD') {
      // Even with `cache: false`: what the server changed must not be served stale afterwards.
      const data = await this.#hooks.send(hop, context, clock);
      if (!SAFE_METHODS.has(method) && data.statusCode < 400) this.#invalidate(hop.url, data.headers);
      return data;
    }
    if (mode === false || this.#closed) return this.#hooks.send(hop, context, clock);
    for (const name of CALLER_CONDITIONALS) {
      if (headers[name] !== undefined) return this.#hooks.send(hop, context, clock);
    }
    const url = keyOf(hop.url);
    const requestCc = requestDirectives(headers);
    const entry = await this.#lookup(url, hop);
    const requestTime = Date.now();
    if (entry !== undefined) {
      const cc = parseCacheControl(entry.headers['cache-control']);
      const age = currentAge(entry, requestTime);
      const lifetime = freshnessLifetime(entry, cc);
      const check = mode === 'no-cache' || requestCc.has('no-cache') || cc.has('no-cache');
      if (!check && fresh(age, lifetime, requestCc)) return this.#hit(entry, hop, clock, age, 'hit');
      if (method === 'HEAD') return this.#hooks.send(hop, context, clock);
      const swr = seconds(cc, 'stale-while-revalidate');
      if (!check && swr !== undefined && !cc.has('must-revalidate') && age < lifetime + swr) {
        this.#revalidate(url, hop, context, entry);
        return this.#hit(entry, hop, clock, age, 'stale');
      }
      const validators = conditionals(entry);
      if (validators !== undefined) {
        const conditional = { ...hop, headers: { ...headers, ...validators } };
        const data = await this.#hooks.send(conditional, context, clock);
        if (data.statusCode === 304) {
          data.body.dump().catch(ignore);
          const updated = this.#refresh(entry, data.headers, requestTime);
          return this.#hit(updated, hop, clock, currentAge(updated, Date.now()), 'revalidated', data.headers);
        }
        return this.#admit(url, hop, requestCc, data, requestTime);
      }
    }
    const data = await this.#hooks.send(hop, context, clock);
    return method === 'HEAD' ? data : this.#admit(url, hop, requestCc, data, requestTime);
  }

  /** Aborts background revalidations and waits for them and for store writes. */
  async close(): Promise<void> {
    this.#closed = true;
    const tasks: Promise<void>[] = [];
    for (const { controller, done } of this.#background.values()) {
      controller.abort();
      tasks.push(done);
    }
    await Promise.all(tasks);
    await Promise.all(this.#writes);
    await this.store.close();
  }

  /** The stored variant the request selects (RFC 9111 4.1); a failing store is a miss. */
  async #lookup(url: string, hop: Hop): Promise<CacheEntry | undefined> {
    let variants: CacheEntry[];
    try {
      variants = await this.store.get(url);
    } catch {
      return undefined;
    }
    if (variants.length === 0) return undefined;
    let request = hop.headers;
    if (variants.some((v) => 'cookie' in v.vary)) request = this.#sentHeaders(hop);
    return variants.find((v) => varyMatches(v, request));
  }

  /** The headers as sent: the hop's plus the jar's cookies (what `Vary: Cookie` is about). */
  #sentHeaders(hop: Hop): Record<string, string> {
    const jar = this.#hooks.cookieHeader(hop.url.href);
    if (jar === '') return hop.headers;
    const own = hop.headers.cookie;
    return { ...hop.headers, cookie: own === undefined ? jar : `${own}; ${jar}` };
  }

  /** A response made from `entry`, with its current Age; a 304's other headers join it. */
  #hit(
    entry: CacheEntry,
    hop: Hop,
    clock: RequestClock,
    age: number,
    state: CacheState,
    notModified?: Dispatcher.ResponseData['headers'],
  ): CachedData {
    const headers: Record<string, string | string[]> = {
      ...entry.headers,
      age: String(Math.floor(age / 1000)),
    };
    // A 304's Set-Cookie is new from the server: the session applies it once, it is never stored.
    const setCookie = notModified?.['set-cookie'];
    if (setCookie !== undefined) headers['set-cookie'] = setCookie;
    if (state !== 'revalidated') {
      clock.head();
      clock.firstByte = 0;
    }
    return {
      statusCode: entry.status,
      statusText: entry.statusText,
      headers,
      body: cachedBody(hop.method === 'HEAD' ? undefined : entry.body),
      trailers: {},
      opaque: null,
      context: {},
      cacheState: state,
    } as unknown as CachedData;
  }

  /** Stores `data` if it may be: a redirect at once (its body is never read), else as it is read. */
  #admit(
    url: string,
    hop: Hop,
    requestCc: Directives,
    data: Dispatcher.ResponseData,
    requestTime: number,
  ): CachedData {
    const status = data.statusCode;
    const cc = parseCacheControl(data.headers['cache-control']);
    if (!isStorable(status, hop.headers, requestCc, data.headers, cc)) {
      if (status !== 304 && status < 500) this.#forget(url);
      return data;
    }
    if (Number(data.headers['content-length']) > this.#maxEntrySize) return data;
    const names = varyNames(data.headers);
    const entry: CacheEntry = {
      url,
      status,
      statusText: data.statusText,
      headers: storedHeaders(data.headers),
      vary: varyValues(names, names.includes('cookie') ? this.#sentHeaders(hop) : hop.headers),
      requestTime,
      responseTime: Date.now(),
      body: Buffer.alloc(0),
    };
    // An entry that is never fresh and cannot be revalidated would only take room.
    if (
      freshnessLifetime(entry, cc) === 0 &&
      conditionals(entry) === undefined &&
      !cc.has('stale-while-revalidate')
    ) {
      return data;
    }
    if (isRedirect(status) && data.headers.location !== undefined) {
      this.#put(entry);
      return data;
    }
    const body = new CacheTap(data.body as DumpableBody, this.#maxEntrySize, (bytes) => {
      entry.body = bytes;
      this.#put(entry);
    });
    (data as { body: unknown }).body = body;
    return data;
  }

  /** The entry updated by a 304 (RFC 9111 4.3.4), stored again. */
  #refresh(entry: CacheEntry, headers: Dispatcher.ResponseData['headers'], requestTime: number): CacheEntry {
    const updated: CacheEntry = {
      ...entry,
      headers: updatedHeaders(entry.headers, headers),
      requestTime,
      responseTime: Date.now(),
    };
    this.#put(updated);
    return updated;
  }

  #put(entry: CacheEntry): void {
    if (this.#closed) return;
    const write = this.store.put(entry).catch(ignore);
    this.#writes.add(write);
    void write.then(() => this.#writes.delete(write));
  }

  #forget(url: string): void {
    const write = this.store.delete(url).catch(ignore);
    this.#writes.add(write);
    void write.then(() => this.#writes.delete(write));
  }

  /** RFC 9111 4.4: an unsafe method's success invalidates its URL, Location and Content-Location. */
  #invalidate(url: URL, headers: Dispatcher.ResponseData['headers']): void {
    this.#forget(keyOf(url));
    for (const name of ['location', 'content-location'] as const) {
      const value = headers[name];
      if (typeof value !== 'string') continue;
      try {
        const target = new URL(value, url);
        if (target.origin === url.origin) this.#forget(keyOf(target));
      } catch {
        // Not a URL: nothing to invalidate.
      }
    }
  }

  /** Revalidates `entry` off the caller's path (stale-while-revalidate); errors are dropped. */
  #revalidate(url: string, hop: Hop, context: HopContext, entry: CacheEntry): void {
    if (this.#background.has(url) || this.#background.size >= MAX_BACKGROUND) return;
    const controller = new AbortController();
    // The hop's context (its proxy choice too), with a signal only close() fires.
    const background: HopContext = { ...context, method: 'GET', signal: controller.signal };
    const request: Hop = { ...hop, headers: { ...hop.headers, ...conditionals(entry) } };
    const done = this.#refetch(url, request, background, entry)
      .catch(ignore)
      .finally(() => this.#background.delete(url));
    this.#background.set(url, { controller, done });
  }

  async #refetch(url: string, hop: Hop, context: HopContext, entry: CacheEntry): Promise<void> {
    const requestTime = Date.now();
    const data = await this.#hooks.send(hop, context, new RequestClock());
    const setCookie = data.headers['set-cookie'];
    if (setCookie !== undefined) this.#hooks.setCookie(setCookie, hop.url.href);
    if (data.statusCode === 304) {
      await data.body.dump();
      this.#refresh(entry, data.headers, requestTime);
      return;
    }
    const admitted = this.#admit(url, hop, requestDirectives(hop.headers), data, requestTime);
    // Read to the end so the tap stores it (or, past the size limit, drops it).
    for await (const chunk of admitted.body) void chunk;
  }
}

/** Whether an entry of `age` and `lifetime` may be served for the request's directives. */
function fresh(age: number, lifetime: number, requestCc: Directives): boolean {
  if (age >= lifetime) return false;
  const maxAge = seconds(requestCc, 'max-age');
  if (maxAge !== undefined && age > maxAge) return false;
  const minFresh = seconds(requestCc, 'min-fresh');
  return minFresh === undefined || lifetime - age >= minFresh;
}
