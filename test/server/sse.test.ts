import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { App, type AppServer } from '../../src/server/index.js';
import { formatEvent } from '../../src/server/sse.js';

const T = { timeout: 20_000 };

async function serve(t: TestContext, app: App): Promise<AppServer> {
  const server = await app.listen({ port: 0 });
  t.after(() => server.close({ timeout: 500 }));
  return server;
}

/** The raw bytes and headers of a GET, without letting fetch decode them. */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('server-sent events', () => {
  test('formatEvent writes fields and splits data lines so none can inject a field', () => {
    assert.equal(formatEvent('hi'), 'data: hi\n\n');
    assert.equal(formatEvent({ a: 1 }), 'data: {"a":1}\n\n');
    assert.equal(
      formatEvent({ data: 'one\ntwo\r\nid: 9', event: 'tick\nevent: x', id: '7', retry: 500 }),
      'event: tick\nid: 7\nretry: 500\ndata: one\ndata: two\ndata: id: 9\n\n',
    );
  });

  test('ctx.sse streams events as text/event-stream until the source ends', T, async (t) => {
    const app = new App().get('/events', (ctx) =>
      ctx.sse(
        (async function* () {
          yield { data: 'first', event: 'greeting' };
          yield { n: 2 };
        })(),
      ),
    );
    const server = await serve(t, app);
    const res = await fetch(`${server.url}events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(await res.text(), 'event: greeting\ndata: first\n\ndata: {"n":2}\n\n');
  });

  test(
    'a heartbeat comment goes out while the source is quiet, and a client that leaves stops the source',
    T,
    async (t) => {
      let stopped = false;
      const app = new App().get('/slow', (ctx) =>
        ctx.sse(
          (async function* () {
            try {
              for (let i = 0; ; i++) {
                yield i;
                await new Promise((resolve) => setTimeout(resolve, 150));
              }
            } finally {
              stopped = true;
            }
          })(),
          { heartbeat: 50 },
        ),
      );
      const server = await serve(t, app);
      const controller = new AbortController();
      const res = await fetch(`${server.url}slow`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': heartbeat') || !text.includes('data: 1')) {
        text += new TextDecoder().decode((await reader.read()).value);
      }
      controller.abort();
      for (let i = 0; i < 100 && !stopped; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(stopped, 'the source was stopped after the client left');
    },
  );
});

describe('compression', () => {
  const big = 'wirekit '.repeat(500);

  test('is off by default', T, async (t) => {
    const server = await serve(
      t,
      new App().get('/', () => big),
    );
    const res = await get(server.url, { 'accept-encoding': 'gzip, br' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), big);
  });

  test('compresses text above the threshold with br, else gzip, keeping Content-Length', T, async (t) => {
    const app = new App({ compression: true })
      .get('/', () => big)
      .get('/small', () => 'tiny')
      .get('/json', () => ({ big }));
    const server = await serve(t, app);
    const br = await get(server.url, { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(Number(br.headers['content-length']), br.body.length);
    assert.ok(br.body.length < big.length / 10);
    assert.equal(brotliDecompressSync(br.body).toString(), big);
    const gz = await get(`${server.url}json`, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(gz.body).toString()), { big });
    const small = await get(`${server.url}small`, { 'accept-encoding': 'gzip, br' });
    assert.equal(small.headers['content-encoding'], undefined);
    const refused = await get(server.url, { 'accept-encoding': 'br;q=0, gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.equal(refused.body.toString(), big);
  });

  test('does not compress bytes that are not text-like', T, async (t) => {
    const app = new App({ compression: { threshold: 10 } }).get('/bin', () => Buffer.alloc(5000));
    const server = await serve(t, app);
    const res = await get(`${server.url}bin`, { 'accept-encoding': 'gzip, br' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.length, 5000);
  });
});
