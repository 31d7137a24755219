/**
 * @module wirekit/client/cache-disk-store
 * The on-disk cache store: one file per URL (its variants, heads as JSON then the bodies), named
 * by the SHA-256 of the URL, written to a temporary file and renamed into place, with the least
 * recently used files removed past a byte cap.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheEntry } from './cache-policy.js';
import { type CacheStore, type StoreLimits, withVariant } from './cache-store.js';

const MAGIC = 'WKC1';
const SUFFIX = '.wkc';

type Head = Omit<CacheEntry, 'body'> & { bodyLength: number };

function ignore(): void {}

/** The file's bytes: magic, head length (uint32 BE), heads JSON, bodies in order. */
function encode(variants: readonly CacheEntry[]): Buffer {
  const heads: Head[] = variants.map(({ body, ...head }) => ({ ...head, bodyLength: body.length }));
  const json = Buffer.from(JSON.stringify(heads));
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32BE(json.length, 4);
  return Buffer.concat([prefix, json, ...variants.map((v) => v.body)]);
}

/** The variants in `bytes`, or undefined when the file is not one of ours or is cut short. */
function decode(bytes: Buffer, url: string): CacheEntry[] | undefined {
  if (bytes.length < 8 || bytes.toString('latin1', 0, 4) !== MAGIC) return undefined;
  const jsonEnd = 8 + bytes.readUInt32BE(4);
  if (jsonEnd > bytes.length) return undefined;
  let heads: Head[];
  try {
    heads = JSON.parse(bytes.toString('utf8', 8, jsonEnd)) as Head[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(heads)) return undefined;
  const out: CacheEntry[] = [];
  let offset = jsonEnd;
  for (const { bodyLength, ...head } of heads) {
    if (head.url !== url || !(bodyLength >= 0) || offset + bodyLength > bytes.length) return undefined;
    out.push({ ...head, body: bytes.subarray(offset, offset + bodyLength) });
    offset += bodyLength;
  }
  return offset === bytes.length ? out : undefined;
}

/**
 * Entries on disk under `dir` (created if missing). Several sessions may share a directory:
 * each file is replaced whole by a rename, so a reader sees the old file or the new one; the
 * byte cap is kept by each session from the files it saw at start and the ones it wrote.
 *
 * @example
 * const session = new Session({ cache: { dir: '.cache/http' } }); // uses a DiskCacheStore
 */
export class DiskCacheStore implements CacheStore {
  readonly #dir: string;
  readonly #maxSize: number;
  /** File name -> bytes, in least-recently-used order. */
  readonly #files = new Map<string, number>();
  /** The last operation on each file, so writes to one file do not interleave. */
  readonly #queue = new Map<string, Promise<unknown>>();
  #size = 0;
  #ready: Promise<void> | undefined;

  constructor(dir: string, limits: StoreLimits) {
    this.#dir = dir;
    this.#maxSize = limits.maxSize;
  }

  get size(): number {
    return this.#size;
  }

  /** Creates the directory and indexes the files in it, oldest first, once. */
  #init(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#dir, { recursive: true });
      const found: Array<{ name: string; size: number; mtime: number }> = [];
      for (const name of await readdir(this.#dir)) {
        if (!name.endsWith(SUFFIX)) continue;
        try {
          const s = await stat(join(this.#dir, name));
          found.push({ name, size: s.size, mtime: s.mtimeMs });
        } catch {
          // Removed by another session meanwhile.
        }
      }
      found.sort((a, b) => a.mtime - b.mtime);
      for (const f of found) this.#track(f.name, f.size);
    })();
    return this.#ready;
  }

  #name(url: string): string {
    return createHash('sha256').update(url).digest('hex') + SUFFIX;
  }

  #track(name: string, size: number | undefined): void {
    const old = this.#files.get(name);
    if (old !== undefined) {
      this.#files.delete(name);
      this.#size -= old;
    }
    if (size !== undefined) {
      this.#files.set(name, size);
      this.#size += size;
    }
  }

  /** Runs `task` after the operations already queued on `name`. */
  #serial<T>(name: string, task: () => Promise<T>): Promise<T> {
    const run = (this.#queue.get(name) ?? Promise.resolve()).then(task, task);
    const tail = run.catch(ignore);
    this.#queue.set(name, tail);
    void tail.then(() => {
      if (this.#queue.get(name) === tail) this.#queue.delete(name);
    });
    return run;
  }

  async #read(name: string, url: string): Promise<CacheEntry[]> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.#dir, name));
    } catch {
      this.#track(name, undefined);
      return [];
    }
    const variants = decode(bytes, url);
    if (variants === undefined) {
      await this.#unlink(name);
      return [];
    }
    return variants;
  }

  async get(url: string): Promise<CacheEntry[]> {
    await this.#init();
    const name = this.#name(url);
    return this.#serial(name, async () => {
      const variants = await this.#read(name, url);
      if (variants.length > 0) {
        this.#track(name, this.#files.get(name) ?? 0);
        const now = new Date();
        // The file's mtime is its last use, so the next session evicts in the same order.
        await utimes(join(this.#dir, name), now, now).catch(ignore);
      }
      return variants;
    });
  }

  async put(entry: CacheEntry): Promise<void> {
    await this.#init();
    const name = this.#name(entry.url);
    await this.#serial(name, async () => {
      const bytes = encode(withVariant(await this.#read(name, entry.url), entry));
      if (bytes.length > this.#maxSize) {
        await this.#unlink(name);
        return;
      }
      const tmp = join(this.#dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, bytes, { mode: 0o600 });
        await rename(tmp, join(this.#dir, name));
      } catch (err) {
        await unlink(tmp).catch(ignore);
        throw err;
      }
      this.#track(name, bytes.length);
    });
    await this.#evict();
  }

  async delete(url: string): Promise<void> {
    await this.#init();
    const name = this.#name(url);
    await this.#serial(name, () => this.#unlink(name));
  }

  async close(): Promise<void> {
    await Promise.all(this.#queue.values());
  }

  async #unlink(name: string): Promise<void> {
    this.#track(name, undefined);
    await unlink(join(this.#dir, name)).catch(ignore);
  }

  async #evict(): Promise<void> {
    for (const name of this.#files.keys()) {
      if (this.#size <= this.#maxSize) return;
      await this.#serial(name, () => this.#unlink(name));
    }
  }
}
