/**
 * One suite for both cache stores (memory, disk): variants, replacement, deletion, the byte cap
 * with least-recently-used eviction; then what only the disk store does (files, restarts,
 * corrupt files), and a session on disk across restarts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { DiskCacheStore } from '../../src/client/cache-disk-store.js';
import type { CacheEntry } from '../../src/client/cache-policy.js';
import { type CacheStore, entrySize, MemoryCacheStore } from '../../src/client/cache-store.js';
import { Session } from '../../src/client/index.js';
import { serve, T } from './helpers.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirekit-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function entry(url: string, body: string, vary: Record<string, string | null> = {}): CacheEntry {
  return {
    url,
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'text/plain', 'x-list': ['a', 'b'] },
    vary,
    requestTime: 1_000,
    responseTime: 1_010,
    body: Buffer.from(body),
  };
}

const stores: Record<string, (t: TestContext, maxSize: number) => Promise<CacheStore>> = {
  memory: async (_t, maxSize) => new MemoryCacheStore({ maxSize }),
  disk: async (t, maxSize) => new DiskCacheStore(await tempDir(t), { maxSize }),
};

for (const [kind, make] of Object.entries(stores)) {
  describe(`${kind} cache store`, () => {
    test('put then get returns the entry; an unknown URL is []', async (t) => {
      const store = await make(t, 1 << 20);
      await store.put(entry('http://a/1', 'one'));
      const [got, ...rest] = await store.get('http://a/1');
      assert.equal(rest.length, 0);
      assert.equal(got!.body.toString(), 'one');
      assert.deepEqual(got!.headers, { 'content-type': 'text/plain', 'x-list': ['a', 'b'] });
      assert.equal(got!.responseTime, 1_010);
      assert.deepEqual(await store.get('http://a/2'), []);
      await store.close();
    });

    test('variants: same Vary values replace, other values add, other Vary names reset', async (t) => {
      const store = await make(t, 1 << 20);
      await store.put(entry('http://a/v', 'en', { 'accept-language': 'en' }));
      await store.put(entry('http://a/v', 'fr', { 'accept-language': 'fr' }));
      await store.put(entry('http://a/v', 'en2', { 'accept-language': 'en' }));
      assert.deepEqual(
        (await store.get('http://a/v')).map((e) => e.body.toString()),
        ['en2', 'fr'],
      );
      await store.put(entry('http://a/v', 'enc', { 'accept-encoding': 'gzip' }));
      assert.deepEqual(
        (await store.get('http://a/v')).map((e) => e.body.toString()),
        ['enc'],
      );
    });

    test('delete forgets every variant of a URL and nothing else', async (t) => {
      const store = await make(t, 1 << 20);
      await store.put(entry('http://a/d', 'x', { a: '1' }));
      await store.put(entry('http://a/d', 'y', { a: '2' }));
      await store.put(entry('http://a/keep', 'z'));
      await store.delete('http://a/d');
      await store.delete('http://a/never');
      assert.deepEqual(await store.get('http://a/d'), []);
      assert.equal((await store.get('http://a/keep')).length, 1);
    });

    test('past maxSize the least recently used URL goes first; an entry over it is not kept', async (t) => {
      const one = entrySize(entry('http://a/1', 'x'.repeat(1000)));
      const store = await make(t, one * 3 + 100);
      for (const n of [1, 2, 3]) await store.put(entry(`http://a/${n}`, 'x'.repeat(1000)));
      await store.get('http://a/1');
      await store.put(entry('http://a/4', 'x'.repeat(1000)));
      assert.equal((await store.get('http://a/2')).length, 0);
      for (const n of [1, 3, 4]) assert.equal((await store.get(`http://a/${n}`)).length, 1, `entry ${n}`);
      await store.put(entry('http://a/huge', 'x'.repeat(one * 4)));
      assert.deepEqual(await store.get('http://a/huge'), []);
      assert.ok(store.size <= one * 3 + 100);
    });
  });
}

describe('disk cache store', () => {
  test('entries survive a new store on the same directory; files are written whole, mode 0600', async (t) => {
    const dir = await tempDir(t);
    const first = new DiskCacheStore(dir, { maxSize: 1 << 20 });
    await first.put(entry('http://a/p', 'persisted'));
    await first.close();
    const names = await readdir(dir);
    assert.equal(names.length, 1);
    assert.match(names[0]!, /^[0-9a-f]{64}\.wkc$/);
    const second = new DiskCacheStore(dir, { maxSize: 1 << 20 });
    assert.equal((await second.get('http://a/p'))[0]!.body.toString(), 'persisted');
    assert.ok(second.size > 0);
  });

  test('a corrupt or truncated file is a miss and is removed', async (t) => {
    const dir = await tempDir(t);
    const store = new DiskCacheStore(dir, { maxSize: 1 << 20 });
    await store.put(entry('http://a/c', 'body'));
    const [name] = await readdir(dir);
    await writeFile(join(dir, name!), 'WKC1garbage');
    assert.deepEqual(await store.get('http://a/c'), []);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a session with cache: { dir } answers from the files a previous session wrote', T, async (t) => {
    const dir = await tempDir(t);
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      res.writeHead(200, { 'cache-control': 'max-age=60', 'set-cookie': 'sid=secret' }).end('from disk');
    });
    const one = new Session({ cache: { dir } });
    assert.equal(await (await one.get(url)).text(), 'from disk');
    await one.close();
    const two = new Session({ cache: { dir } });
    t.after(() => two.close());
    const res = await two.get(url);
    assert.equal(res.fromCache, true);
    assert.equal(await res.text(), 'from disk');
    assert.equal(hits, 1);
    assert.equal(two.cookies!.header(url), '');
    for (const name of await readdir(dir)) {
      assert.ok(!(await readFile(join(dir, name), 'utf8')).includes('secret'), 'Set-Cookie is never written');
    }
  });
});
