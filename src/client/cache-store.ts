/**
 * @module wirekit/client/cache-store
 * Where the HTTP cache keeps its entries: the `CacheStore` interface, its in-memory
 * implementation (LRU under a byte cap), and what both share (variant replacement, sizes).
 */
import type { CacheEntry } from './cache-policy.js';

/**
 * Storage of cache entries, by URL; each URL holds its Vary variants. Implementations:
 * {@link MemoryCacheStore} and `DiskCacheStore`. Errors are the store's: the cache treats a
 * failing read as a miss and a failing write as not stored.
 */
export interface CacheStore {
  /** Every stored variant for `url` (most recently stored first); `[]` when none. */
  get(url: string): Promise<CacheEntry[]>;
  /**
   * Stores `entry`, replacing the variant with the same Vary values, and every variant stored
   * under other Vary field names (the resource's Vary changed).
   */
  put(entry: CacheEntry): Promise<void>;
  /** Forgets every variant of `url`. */
  delete(url: string): Promise<void>;
  /** Bytes held (bodies plus an estimate of the heads). */
  readonly size: number;
  /** Waits for writes under way. */
  close(): Promise<void>;
}

/** Size limits of a store, in bytes. */
export interface StoreLimits {
  /** Total bytes before the least recently used URLs are evicted. */
  maxSize: number;
}

/** The bytes an entry counts for: body plus head (names and values) plus a fixed overhead. */
export function entrySize(entry: CacheEntry): number {
  let size = 256 + entry.body.length + entry.url.length + entry.statusText.length;
  for (const name in entry.headers) {
    const value = entry.headers[name]!;
    size += name.length + (Array.isArray(value) ? value.join('').length + value.length : value.length);
  }
  for (const name in entry.vary) size += name.length + (entry.vary[name]?.length ?? 0);
  return size;
}

function sameNames(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k));
}

/** The variants to keep once `entry` is stored: `entry` first, then the others that still apply. */
export function withVariant(variants: readonly CacheEntry[], entry: CacheEntry): CacheEntry[] {
  const out = [entry];
  for (const old of variants) {
    if (!sameNames(old.vary, entry.vary)) continue;
    let same = true;
    for (const name in entry.vary) if (old.vary[name] !== entry.vary[name]) same = false;
    if (!same) out.push(old);
  }
  return out;
}

/**
 * The in-memory store: a Map in least-recently-used order; storing past `maxSize` evicts the
 * least recently used URLs (all their variants) first.
 *
 * @example
 * const session = new Session({ cache: { maxSize: 16 * 1024 * 1024 } }); // uses a MemoryCacheStore
 */
export class MemoryCacheStore implements CacheStore {
  readonly #entries = new Map<string, { variants: CacheEntry[]; size: number }>();
  readonly #maxSize: number;
  #size = 0;

  constructor(limits: StoreLimits) {
    this.#maxSize = limits.maxSize;
  }

  get size(): number {
    return this.#size;
  }

  get(url: string): Promise<CacheEntry[]> {
    const slot = this.#entries.get(url);
    if (slot === undefined) return Promise.resolve([]);
    this.#entries.delete(url);
    this.#entries.set(url, slot);
    return Promise.resolve(slot.variants);
  }

  put(entry: CacheEntry): Promise<void> {
    const old = this.#entries.get(entry.url);
    const variants = withVariant(old?.variants ?? [], entry);
    let size = 0;
    for (const v of variants) size += entrySize(v);
    this.#remove(entry.url);
    if (size <= this.#maxSize) {
      this.#entries.set(entry.url, { variants, size });
      this.#size += size;
      for (const url of this.#entries.keys()) {
        if (this.#size <= this.#maxSize) break;
        this.#remove(url);
      }
    }
    return Promise.resolve();
  }

  delete(url: string): Promise<void> {
    this.#remove(url);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #remove(url: string): void {
    const slot = this.#entries.get(url);
    if (slot === undefined) return;
    this.#entries.delete(url);
    this.#size -= slot.size;
  }
}
