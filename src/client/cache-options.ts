/**
 * @module wirekit/client/cache-options
 * The `cache` option of a Session: its typed shape, its defaults, and its checks at construction.
 */

/** The HTTP cache: `true` for one in memory, or where and how big. */
export interface CacheOptions {
  /** A directory to keep entries in (created if missing). **Default:** none: in memory. */
  dir?: string;
  /**
   * Bytes the cache may hold before evicting the least recently used entries.
   * **Default:** `64 * 1024 * 1024` in memory, `256 * 1024 * 1024` on disk.
   */
  maxSize?: number;
  /** Largest body stored, in bytes as received (encoded). **Default:** `8 * 1024 * 1024`. */
  maxEntrySize?: number;
}

/** The cache option of one request: `false` bypasses the cache, `'no-cache'` revalidates first. */
export type RequestCacheMode = boolean | 'no-cache';

export const cacheDefaults = {
  dir: undefined,
  maxSize: 64 * 1024 * 1024,
  maxDiskSize: 256 * 1024 * 1024,
  maxEntrySize: 8 * 1024 * 1024,
} as const;

/** The cache options with every default filled in. */
export interface ResolvedCacheOptions {
  dir: string | undefined;
  maxSize: number;
  maxEntrySize: number;
}

function checkBytes(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be an integer number of bytes > 0, got ${String(value)}`);
  }
  return value;
}

/** Fills in defaults; throws TypeError/RangeError on nonsense. `false` means no cache. */
export function resolveCacheOptions(
  option: boolean | CacheOptions | undefined,
): ResolvedCacheOptions | false {
  if (option === undefined || option === false) return false;
  if (option === true) option = {};
  if (typeof option !== 'object' || option === null) {
    throw new TypeError('cache must be true, false or { dir, maxSize, maxEntrySize }');
  }
  const { dir } = option;
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) {
    throw new TypeError('cache.dir must be a non-empty path');
  }
  const maxSize = checkBytes(
    option.maxSize ?? (dir === undefined ? cacheDefaults.maxSize : cacheDefaults.maxDiskSize),
    'cache.maxSize',
  );
  const maxEntrySize = checkBytes(
    option.maxEntrySize ?? Math.min(cacheDefaults.maxEntrySize, maxSize),
    'cache.maxEntrySize',
  );
  if (maxEntrySize > maxSize) {
    throw new RangeError(`cache.maxEntrySize (${maxEntrySize}) must not exceed cache.maxSize (${maxSize})`);
  }
  return { dir, maxSize, maxEntrySize };
}

/** Throws TypeError unless `mode` is a request's cache mode. */
export function checkCacheMode(mode: unknown): void {
  if (mode !== undefined && mode !== true && mode !== false && mode !== 'no-cache') {
    throw new TypeError(`cache must be true, false or 'no-cache', got ${JSON.stringify(mode)}`);
  }
}
