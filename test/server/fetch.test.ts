import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { App, HttpError } from '../../src/server/index.js';
import { within } from '../net/tcp-helpers.js';
import { bodyOf, deferred, sleep, T } from './web-helpers.js';

const BASE = 'http://wirekit.test';

describe('app.fetch', () => {
  test('each kind of return value becomes the matching web Response', T, async () => {
    const app = new App()
      .get('/text', () => 'Hello World!')
      .get('/json', () => ({ a: 1 }))
      .get('/bytes', () => new Uint8Array([1, 2, 3]))
      .get('/web', () => new Response('web', { status: 201, headers: { 'x-web': '1' } }))
      .get('/readable', () => Readable.from(['a', 'b', 'c']))
      .get('/iterable', () =>
        (async function* () {
          yield 'x';
          yield 'y';
        })(),
      )
      .get('/nothing', () => undefined)
      .get('/old', (ctx) => ctx.redirect('/new', 301))
      .post('/created', (ctx) => {
        ctx.status = 201;
        return { ok: true };
      });
    const text = await app.fetch(new Request(`${BASE}/text`));
    assert.equal(text.status, 200);
    assert.equal(text.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(text.headers.get('content-length'), '12');
    assert.equal(await text.text(), 'Hello World!');
    const json = await app.fetch(new Request(`${BASE}/json`));
    assert.equal(json.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await json.json(), { a: 1 });
    const bytes = await app.fetch(new Request(`${BASE}/bytes`));
    assert.equal(bytes.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(new Uint8Array(await bytes.arrayBuffer()), new Uint8Array([1, 2, 3]));
    const web = await app.fetch(new Request(`${BASE}/web`));
    assert.equal(web.status, 201);
    assert.equal(web.headers.get('x-web'), '1');
    assert.equal(await web.text(), 'web');
    const readable = await app.fetch(new Request(`${BASE}/readable`));
    // The in-memory hop's framing is not part of the response the app made.
    assert.equal(readable.headers.get('transfer-encoding'), null);
    assert.equal(readable.headers.get('connection'), null);
    assert.equal(await readable.text(), 'abc');
    assert.equal(await (await app.fetch(new Request(`${BASE}/iterable`))).text(), 'xy');
    const nothing = await app.fetch(new Request(`${BASE}/nothing`));
    assert.equal(nothing.status, 204);
    assert.equal(nothing.body, null);
    const old = await app.fetch(new Request(`${BASE}/old`));
    assert.equal(old.status, 301);
    assert.equal(old.headers.get('location'), '/new');
    const created = await app.fetch(new Request(`${BASE}/created`, { method: 'POST' }));
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { ok: true });
  });

  test('route parameters, query, headers and middleware are all there', T, async () => {
    const app = new App();
    app.use(async (ctx, next) => {
      ctx.set('x-mw', 'yes');
      return next();
    });
    app.get('/users/:id/books/:book', (ctx) => ({
      params: ctx.params,
      page: ctx.query.page,
      tags: ctx.queryAll('tag'),
      agent: ctx.headers['user-agent'],
      host: ctx.headers.host,
    }));
    app.post('/items', () => ({}));
    const res = await app.fetch(
      new Request(`${BASE}/users/42/books/a%20b?page=2&tag=x&tag=y`, { headers: { 'user-agent': 'tester' } }),
    );
    assert.equal(res.headers.get('x-mw'), 'yes');
    assert.deepEqual(await res.json(), {
      params: { id: '42', book: 'a b' },
      page: '2',
      tags: ['x', 'y'],
      agent: 'tester',
      host: 'wirekit.test',
    });
    assert.equal((await app.fetch(new Request(`${BASE}/nope`))).status, 404);
    const wrong = await app.fetch(new Request(`${BASE}/items`, { method: 'DELETE' }));
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  test('a POST JSON body is read, and one over the body limit is a 413', T, async () => {
    const app = new App({ bodyLimit: 1024 })
      .post('/echo', async (ctx) => ({ got: await ctx.json() }))
      .post('/big', { bodyLimit: 4 * 1024 * 1024 }, async (ctx) => ({ bytes: (await ctx.bytes()).length }));
    const post = (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) =>
      app.fetch(
        new Request(`${BASE}${path}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
          duplex: 'half',
        } as RequestInit),
      );
    const ok = await post('/echo', JSON.stringify({ name: 'ann' }));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { got: { name: 'ann' } });
    const tooBig = JSON.stringify({ pad: 'x'.repeat(2000) });
    // Declared up front, and streamed without a length: both stop at the limit.
    const declared = await post('/echo', tooBig, { 'content-length': String(tooBig.length) });
    assert.equal(declared.status, 413);
    const streamed = await post('/echo', bodyOf(10 * 1024 * 1024));
    assert.equal(streamed.status, 413);
    const bad = await post('/echo', '{nope');
    assert.equal(bad.status, 400);
    // A route's own limit: 3 MiB streamed through the in-memory socket with backpressure.
    const big = await post('/big', bodyOf(3 * 1024 * 1024));
    assert.deepEqual(await big.json(), { bytes: 3 * 1024 * 1024 });
  });

  test('an early 413 stops an endless request body, read or not', T, async () => {
    const app = new App({ bodyLimit: 1024 }).post('/echo', async (ctx) => ctx.json());
    for (const read of [false, true]) {
      const cancelled = deferred();
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(new Uint8Array(16_384));
        },
        cancel() {
          cancelled.resolve();
        },
      });
      const res = await app.fetch(
        new Request(`${BASE}/echo`, {
          method: 'POST',
          body: endless,
          headers: { 'content-type': 'application/json' },
          duplex: 'half',
        } as RequestInit),
      );
      assert.equal(res.status, 413);
      if (read) assert.match(await res.text(), /.+/);
      await within(cancelled.promise, 5_000, 'the request body cancel');
    }
  });

  test('request cookies are read and each Set-Cookie stays a separate value', T, async () => {
    const app = new App({ cookieSecret: 's3cret' }).get('/', (ctx) => {
      ctx.cookies.set('theme', 'dark', { maxAge: 60 });
      ctx.cookies.set('user', 'ann', { signed: true });
      return { seen: ctx.cookies.get('seen') ?? null };
    });
    const res = await app.fetch(new Request(`${BASE}/`, { headers: { cookie: 'seen=1; other=2' } }));
    assert.deepEqual(await res.json(), { seen: '1' });
    const cookies = res.headers.getSetCookie();
    assert.equal(cookies.length, 2);
    assert.equal(cookies[0], 'theme=dark; Max-Age=60; Path=/; HttpOnly; SameSite=Lax');
    assert.match(cookies[1] as string, /^user=ann\.[\w-]+; Path=\/; HttpOnly; SameSite=Lax$/);
  });

  test('an HttpError keeps its status, headers and message; another error is a bare 500', T, async () => {
    const reported: unknown[] = [];
    const app = new App({ onServerError: (err) => reported.push(err) })
      .get('/teapot', () => {
        throw new HttpError(418, 'short and stout', { headers: { 'x-why': 'tea' } });
      })
      .get('/boom', () => {
        throw new Error('secret detail');
      });
    const teapot = await app.fetch(new Request(`${BASE}/teapot`));
    assert.equal(teapot.status, 418);
    assert.equal(teapot.headers.get('x-why'), 'tea');
    assert.equal(await teapot.text(), 'short and stout\n');
    const json = await app.fetch(new Request(`${BASE}/teapot`, { headers: { accept: 'application/json' } }));
    assert.deepEqual(await json.json(), { error: 'short and stout', status: 418 });
    const boom = await app.fetch(new Request(`${BASE}/boom`));
    assert.equal(boom.status, 500);
    assert.equal(await boom.text(), 'Internal Server Error\n');
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as Error).message, 'secret detail');
  });

  test('HEAD is answered from the GET route: same headers, no body', T, async () => {
    let calls = 0;
    const app = new App().get('/', () => {
      calls++;
      return 'Hello World!';
    });
    const res = await app.fetch(new Request(`${BASE}/`, { method: 'HEAD' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '12');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.body, null);
    assert.equal(calls, 1);
  });

  test('a streamed response arrives chunk by chunk, before the handler has finished', T, async () => {
    const second = deferred();
    const app = new App().get('/events', () =>
      (async function* () {
        yield 'first;';
        await second.promise;
        yield 'second;';
      })(),
    );
    const res = await within(app.fetch(new Request(`${BASE}/events`)), 5_000, 'the response head');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await within(reader.read(), 5_000, 'the first chunk');
    assert.equal(decoder.decode(first.value), 'first;');
    second.resolve();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    assert.equal(rest, 'second;');
  });

  test('cancelling the response body aborts ctx.signal, as a client going away would', T, async () => {
    const aborted = deferred();
    const app = new App().get('/forever', (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve());
      return (async function* () {
        for (;;) {
          yield 'tick\n';
          await sleep(5);
        }
      })();
    });
    const res = await app.fetch(new Request(`${BASE}/forever`));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    await within(aborted.promise, 5_000, 'ctx.signal abort');
  });

  test("the Request's signal aborts ctx.signal mid-response, and an aborted Request rejects", T, async () => {
    const aborted = deferred();
    const started = deferred();
    const app = new App().get('/slow', async (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve());
      started.resolve();
      await new Promise(() => undefined);
    });
    const controller = new AbortController();
    const pending = app.fetch(new Request(`${BASE}/slow`, { signal: controller.signal }));
    await within(started.promise, 5_000, 'the handler start');
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await within(aborted.promise, 5_000, 'ctx.signal abort');
    await assert.rejects(app.fetch(new Request(`${BASE}/slow`, { signal: AbortSignal.abort() })), {
      name: 'AbortError',
    });
    await assert.rejects(app.fetch('/slow' as unknown as Request), TypeError);
  });

  test('an abort after the head errors the body stream instead of ending it short', T, async () => {
    const app = new App().get('/ticks', () =>
      (async function* () {
        for (;;) {
          yield 'tick\n';
          await sleep(5);
        }
      })(),
    );
    const controller = new AbortController();
    const res = await app.fetch(new Request(`${BASE}/ticks`, { signal: controller.signal }));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await assert.rejects(
      within(
        (async () => {
          for (;;) if ((await reader.read()).done) return;
        })(),
        5_000,
        'the body after abort',
      ),
      { name: 'AbortError' },
    );
  });

  test('a stream that fails mid-body errors the web body instead of ending it short', T, async () => {
    const app = new App({ onServerError: () => undefined }).get('/fail', () =>
      (async function* () {
        yield 'partial';
        throw new Error('disk on fire');
      })(),
    );
    const res = await app.fetch(new Request(`${BASE}/fail`));
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  test('static files are served, with HEAD, Range and 404', T, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'wirekit-fetch-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'hello.txt'), 'hello static');
    const app = new App().static('/assets', dir);
    const file = await app.fetch(new Request(`${BASE}/assets/hello.txt`));
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-length'), '12');
    assert.ok(file.headers.get('etag'));
    assert.equal(await file.text(), 'hello static');
    const head = await app.fetch(new Request(`${BASE}/assets/hello.txt`, { method: 'HEAD' }));
    assert.equal(head.headers.get('content-length'), '12');
    assert.equal(head.body, null);
    const range = await app.fetch(
      new Request(`${BASE}/assets/hello.txt`, { headers: { range: 'bytes=6-' } }),
    );
    assert.equal(range.status, 206);
    assert.equal(await range.text(), 'static');
    assert.equal((await app.fetch(new Request(`${BASE}/assets/missing.txt`))).status, 404);
  });

  test('a large response streams through intact', T, async () => {
    const size = 8 * 1024 * 1024;
    const app = new App().get('/big', () => Buffer.alloc(size, 7));
    const res = await app.fetch(new Request(`${BASE}/big`));
    assert.equal(res.headers.get('content-length'), String(size));
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.length, size);
    assert.ok(body.every((b) => b === 7));
  });
});
