/**
 * The session's HTTP cache against node:http origins that vary the headers nginx cannot easily:
 * Vary, no-store, no-cache, stale-while-revalidate, Authorization with public/s-maxage/private,
 * Set-Cookie on a cached response, heuristic freshness, redirects and unsafe methods.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, type TestContext, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { sleep } from '../helpers.js';
import { serve, T } from './helpers.js';

type Route = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** An origin whose paths answer with `routes`; `hits[path]` counts the requests each got. */
async function origin(t: TestContext, routes: Record<string, Route>) {
  const hits: Record<string, number> = {};
  const seen: IncomingMessage['headers'][] = [];
  const { url } = await serve(t, (req, res) => {
    const path = req.url!.split('?')[0]!;
    hits[path] = (hits[path] ?? 0) + 1;
    seen.push(req.headers);
    const route = routes[path];
    if (route === undefined) {
      res.writeHead(404).end();
      return;
    }
    route(req, res, hits[path]);
  });
  const http = new Session({ baseUrl: url, cache: true });
  t.after(() => http.close());
  return { url, http, hits, seen };
}

/** Answers 304 when If-None-Match matches `etag`, else `body` with `headers`. */
function withEtag(etag: string, headers: Record<string, string>, body: (n: number) => string): Route {
  return (req, res, n) => {
    if (req.headers['if-none-match'] === etag) res.writeHead(304, { etag, ...headers }).end();
    else res.writeHead(200, { etag, 'content-type': 'text/plain', ...headers }).end(body(n));
  };
}

describe('Session cache', () => {
  test('a fresh response (max-age) is served from memory without a request', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/a': (_req, res, n) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`one ${n}`),
    });
    const first = await http.get('/a');
    assert.equal(first.fromCache, false);
    assert.equal(await first.text(), 'one 1');
    const second = await http.get('/a');
    assert.equal(second.fromCache, true);
    assert.equal(second.revalidated, false);
    assert.equal(await second.text(), 'one 1');
    assert.equal(second.header('age'), '0');
    assert.equal(second.timings.firstByte, 0);
    assert.equal(second.timings.reused, true);
    assert.equal(hits['/a'], 1);
  });

  test('a body is stored only once the caller read it to the end', T, async (t) => {
    const big = 'x'.repeat(256 * 1024);
    const { http, hits } = await origin(t, {
      '/b': (_req, res) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end(big),
    });
    const head = await http.get('/b');
    await head.dump();
    const partial = await http.get('/b');
    for await (const chunk of partial.body) {
      assert.ok(chunk.length > 0);
      break;
    }
    const full = await http.get('/b');
    assert.equal(full.fromCache, false);
    assert.equal((await full.text()).length, big.length);
    const third = await http.get('/b');
    assert.equal(third.fromCache, true);
    assert.equal((await third.text()).length, big.length);
    assert.equal(hits['/b'], 3);
  });

  test(
    'a stale entry is revalidated with If-None-Match; a 304 serves the stored body and updates its headers',
    T,
    async (t) => {
      const { http, hits, seen } = await origin(t, {
        '/r': withEtag('"v1"', { 'cache-control': 'max-age=0', 'x-version': 'a' }, (n) => `body ${n}`),
      });
      assert.equal(await (await http.get('/r')).text(), 'body 1');
      const again = await http.get('/r');
      assert.equal(again.fromCache, true);
      assert.equal(again.revalidated, true);
      assert.equal(again.status, 200);
      assert.equal(await again.text(), 'body 1');
      assert.equal(seen[1]!['if-none-match'], '"v1"');
      assert.equal(hits['/r'], 2);
    },
  );

  test('request no-cache and cache: "no-cache" revalidate; cache: false bypasses', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/n': withEtag('"n"', { 'cache-control': 'max-age=60' }, (n) => `n ${n}`),
    });
    await (await http.get('/n')).text();
    const forced = await http.get('/n', { cache: 'no-cache' });
    assert.equal(forced.revalidated, true);
    await forced.dump();
    const header = await http.get('/n', { headers: { 'cache-control': 'no-cache' } });
    assert.equal(header.revalidated, true);
    await header.dump();
    const bypass = await http.get('/n', { cache: false });
    assert.equal(bypass.fromCache, false);
    assert.equal(await bypass.text(), 'n 4');
    assert.equal(hits['/n'], 4);
    await assert.rejects(http.get('/n', { cache: 'yes' as never }), TypeError);
  });

  test('response no-cache is stored but revalidated every time; no-store is never stored', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/nc': withEtag('"nc"', { 'cache-control': 'no-cache, max-age=60' }, () => 'nc'),
      '/ns': (_req, res, n) =>
        res.writeHead(200, { 'cache-control': 'no-store, max-age=60', etag: '"x"' }).end(`ns ${n}`),
    });
    for (let i = 0; i < 2; i++) await (await http.get('/nc')).text();
    const third = await http.get('/nc');
    assert.equal(third.revalidated, true);
    assert.equal(await third.text(), 'nc');
    assert.equal(hits['/nc'], 3);
    for (let i = 1; i <= 3; i++) {
      const res = await http.get('/ns');
      assert.equal(res.fromCache, false);
      assert.equal(await res.text(), `ns ${i}`);
    }
  });

  test('Vary: Accept-Language keeps one variant per value; Vary: * is not stored', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/v': (req, res) =>
        res
          .writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' })
          .end(`lang ${req.headers['accept-language'] ?? 'none'}`),
      '/star': (_req, res, n) => res.writeHead(200, { 'cache-control': 'max-age=60', vary: '*' }).end(`${n}`),
    });
    const get = async (lang?: string) => {
      const res = await http.get('/v', { headers: { 'accept-language': lang } });
      return `${res.fromCache} ${await res.text()}`;
    };
    assert.equal(await get('en'), 'false lang en');
    assert.equal(await get('fr'), 'false lang fr');
    assert.equal(await get('en'), 'true lang en');
    assert.equal(await get('fr'), 'true lang fr');
    assert.equal(await get(), 'false lang none');
    assert.equal(hits['/v'], 3);
    await (await http.get('/star')).text();
    assert.equal((await http.get('/star')).fromCache, false);
  });

  test(
    'gzip is stored as received and decoded on every read; Vary: Accept-Encoding separates decompress: false',
    T,
    async (t) => {
      const text = 'hello gzip '.repeat(100);
      const { http, hits } = await origin(t, {
        '/z': (req, res) => {
          const gzip = /gzip/.test(req.headers['accept-encoding'] ?? '');
          res.writeHead(200, {
            'cache-control': 'max-age=60',
            vary: 'Accept-Encoding',
            ...(gzip ? { 'content-encoding': 'gzip' } : {}),
          });
          res.end(gzip ? gzipSync(text) : text);
        },
      });
      assert.equal(await (await http.get('/z')).text(), text);
      const hit = await http.get('/z');
      assert.equal(hit.fromCache, true);
      assert.equal(hit.header('content-encoding'), 'gzip');
      assert.equal(await hit.text(), text);
      const plain = await http.get('/z', { decompress: false, headers: { 'accept-encoding': undefined } });
      assert.equal(plain.fromCache, false);
      assert.equal(await plain.text(), text);
      assert.equal(hits['/z'], 2);
    },
  );

  test(
    'stale-while-revalidate serves the stale body at once and refreshes it in the background',
    T,
    async (t) => {
      const { http, hits } = await origin(t, {
        '/s': (_req, res, n) =>
          res.writeHead(200, { 'cache-control': 'max-age=1, stale-while-revalidate=30' }).end(`s ${n}`),
      });
      assert.equal(await (await http.get('/s')).text(), 's 1');
      await sleep(1_100);
      const stale = await http.get('/s');
      assert.equal(stale.fromCache, true);
      assert.equal(stale.revalidated, false);
      assert.equal(await stale.text(), 's 1');
      for (let i = 0; i < 50 && hits['/s'] !== 2; i++) await sleep(20);
      await sleep(50);
      const refreshed = await http.get('/s');
      assert.equal(refreshed.fromCache, true);
      assert.equal(await refreshed.text(), 's 2');
      assert.equal(hits['/s'], 2);
    },
  );

  test('close() aborts a background revalidation and its error goes nowhere', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/slow': (_req, res, n) => {
        if (n === 1)
          res.writeHead(200, { 'cache-control': 'max-age=1, stale-while-revalidate=30' }).end('old');
        // The revalidation never gets an answer: only close() can end it.
      },
    });
    await (await http.get('/slow')).text();
    await sleep(1_100);
    assert.equal(await (await http.get('/slow')).text(), 'old');
    for (let i = 0; i < 50 && hits['/slow'] !== 2; i++) await sleep(20);
    const started = performance.now();
    await http.close();
    assert.ok(performance.now() - started < 2_000);
  });

  test('Authorization: stored only with public, s-maxage or must-revalidate', T, async (t) => {
    const cc: Record<string, string> = {
      '/plain': 'max-age=60',
      '/private': 'private, max-age=60',
      '/public': 'public, max-age=60',
      '/smaxage': 's-maxage=60, max-age=60',
      '/mustrev': 'must-revalidate, max-age=60',
    };
    const routes: Record<string, Route> = {};
    for (const [path, value] of Object.entries(cc)) {
      routes[path] = (_req, res, n) => res.writeHead(200, { 'cache-control': value }).end(`${n}`);
    }
    const { http } = await origin(t, routes);
    const cached: Record<string, boolean> = {};
    for (const path of Object.keys(cc)) {
      await (await http.get(path, { headers: { authorization: 'Bearer alice' } })).text();
      const res = await http.get(path, { headers: { authorization: 'Bearer alice' } });
      cached[path] = res.fromCache;
      await res.dump();
    }
    assert.deepEqual(cached, {
      '/plain': false,
      '/private': false,
      '/public': true,
      '/smaxage': true,
      '/mustrev': true,
    });
    // Without Authorization, `private` is fine for a private cache.
    await (await http.get('/private')).text();
    assert.equal((await http.get('/private')).fromCache, true);
  });

  test(
    'a cached response never applies its Set-Cookie again; a 304 Set-Cookie is applied once',
    T,
    async (t) => {
      const { http } = await origin(t, {
        '/c': (_req, res) =>
          res.writeHead(200, { 'cache-control': 'max-age=60', 'set-cookie': 'n=1; Path=/' }).end('c'),
        '/e': (req, res) => {
          if (req.headers['if-none-match'] === '"e"') {
            res.writeHead(304, { etag: '"e"', 'set-cookie': 'e=304; Path=/' }).end();
          } else
            res
              .writeHead(200, { etag: '"e"', 'cache-control': 'no-cache', 'set-cookie': 'e=200; Path=/' })
              .end('e');
        },
      });
      const first = await http.get('/c');
      await first.text();
      const { url } = first;
      assert.equal(http.cookies!.get(url, 'n'), '1');
      http.cookies!.clear();
      const hit = await http.get('/c');
      assert.equal(hit.fromCache, true);
      assert.equal(hit.headers['set-cookie'], undefined);
      assert.equal(http.cookies!.get(url, 'n'), undefined);
      await (await http.get('/e')).text();
      assert.equal(http.cookies!.get(url, 'e'), '200');
      const revalidated = await http.get('/e');
      assert.equal(revalidated.revalidated, true);
      assert.equal(http.cookies!.get(url, 'e'), '304');
      http.cookies!.clear();
      const after304 = await http.get('/e');
      assert.equal(after304.revalidated, true);
      assert.equal(http.cookies!.get(url, 'e'), '304');
    },
  );

  test(
    'heuristic freshness: 10% of the time since Last-Modified, only without explicit expiry',
    T,
    async (t) => {
      const hourAgo = new Date(Date.now() - 3_600_000).toUTCString();
      const { http, hits } = await origin(t, {
        '/h': (_req, res, n) => res.writeHead(200, { 'last-modified': hourAgo }).end(`h ${n}`),
        '/now': (_req, res, n) =>
          res.writeHead(200, { 'last-modified': new Date().toUTCString() }).end(`${n}`),
        '/created': (_req, res, n) => res.writeHead(201, { 'last-modified': hourAgo }).end(`${n}`),
      });
      for (const path of ['/h', '/now', '/created']) {
        await (await http.get(path)).text();
        const res = await http.get(path);
        await res.dump();
      }
      assert.deepEqual(hits, { '/h': 1, '/now': 2, '/created': 2 });
    },
  );

  test('HEAD is answered from a fresh GET; a HEAD response is not stored', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/x': (_req, res) =>
        res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '5' }).end('hello'),
    });
    const head = await http.head('/x');
    assert.equal(head.fromCache, false);
    await head.dump();
    await (await http.get('/x')).text();
    const cachedHead = await http.head('/x');
    assert.equal(cachedHead.fromCache, true);
    assert.equal(cachedHead.header('content-length'), '5');
    assert.equal((await cachedHead.bytes()).length, 0);
    assert.equal(hits['/x'], 2);
  });

  test('POST, PUT and DELETE invalidate the URL and its same-origin Location', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/item': (req, res, n) => {
        if (req.method === 'GET') res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`item ${n}`);
        else res.writeHead(204, { location: '/list' }).end();
      },
      '/list': (_req, res, n) => res.writeHead(200, { 'cache-control': 'max-age=60' }).end(`list ${n}`),
    });
    for (const method of ['post', 'put', 'delete'] as const) {
      await (await http.get('/item')).text();
      await (await http.get('/list')).text();
      assert.equal((await http.get('/item')).fromCache, true);
      await (await http[method]('/item')).dump();
      assert.equal((await http.get('/item')).fromCache, false);
      assert.equal((await http.get('/list')).fromCache, false);
    }
    assert.equal(hits['/list'], 6);
  });

  test(
    'a cached 301 is followed from the cache; redirects and cookies on the way still work',
    T,
    async (t) => {
      const { http, hits } = await origin(t, {
        '/old': (_req, res) =>
          res
            .writeHead(301, { location: '/new', 'cache-control': 'max-age=60', 'set-cookie': 'r=1; Path=/' })
            .end(),
        '/new': (_req, res, n) => res.writeHead(200).end(`new ${n}`),
      });
      const first = await http.get('/old');
      assert.equal(await first.text(), 'new 1');
      const second = await http.get('/old');
      assert.equal(await second.text(), 'new 2');
      assert.equal(second.redirects.length, 1);
      assert.equal(second.redirects[0]!.status, 301);
      assert.deepEqual(hits, { '/old': 1, '/new': 2 });
      const manual = await http.get('/old', { redirect: { max: 0 } });
      assert.equal(manual.status, 301);
      assert.equal(manual.fromCache, true);
      assert.equal(manual.header('location'), '/new');
    },
  );

  test(
    'a body over maxEntrySize is served but not stored; an entry past maxSize evicts the oldest',
    T,
    async (t) => {
      const { url } = await serve(t, (req, res) => {
        const size = Number(req.url!.slice(1));
        res.writeHead(200, { 'cache-control': 'max-age=60' }).end('y'.repeat(size));
      });
      const http = new Session({ baseUrl: url, cache: { maxSize: 40_000, maxEntrySize: 20_000 } });
      t.after(() => http.close());
      const get = async (path: string) => {
        const res = await http.get(path);
        await res.text();
        return res.fromCache;
      };
      await get('/30000');
      assert.equal(await get('/30000'), false);
      await get('/15000');
      await get('/15001');
      assert.equal(await get('/15000'), true);
      await get('/15002');
      assert.equal(await get('/15001'), false);
      assert.throws(() => new Session({ cache: { maxSize: 10, maxEntrySize: 20 } }), RangeError);
      assert.throws(() => new Session({ cache: { dir: '' } }), TypeError);
    },
  );

  test('a request with its own validators or Range goes to the server as is', T, async (t) => {
    const { http, hits } = await origin(t, {
      '/own': withEtag('"o"', { 'cache-control': 'max-age=60' }, () => 'own'),
    });
    await (await http.get('/own')).text();
    const mine = await http.get('/own', { headers: { 'if-none-match': '"o"' } });
    assert.equal(mine.status, 304);
    assert.equal(mine.fromCache, false);
    assert.equal(hits['/own'], 2);
  });

  test('gzip response served from a 304 keeps its Content-Encoding and decodes', T, async (t) => {
    const text = 'zipped '.repeat(50);
    const { http } = await origin(t, {
      '/gz': (req, res) => {
        if (req.headers['if-none-match'] === '"g"') res.writeHead(304, { etag: '"g"' }).end();
        else
          res
            .writeHead(200, { etag: '"g"', 'content-encoding': 'gzip', 'cache-control': 'no-cache' })
            .end(gzipSync(text));
      },
    });
    assert.equal(await (await http.get('/gz')).text(), text);
    const again = await http.get('/gz');
    assert.equal(again.revalidated, true);
    assert.equal(await again.text(), text);
  });
});
