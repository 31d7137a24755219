import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { setCookie } from 'hono/cookie';
import { stream } from 'hono/streaming';
import { App, type AppServer, serve, type ServeOptions } from '../../src/server/index.js';
import { tlsFixture } from '../helpers.js';
import { within } from '../net/tcp-helpers.js';
import { bodyOf, deferred, sleep, T } from './web-helpers.js';

describe('serve', () => {
  async function host(t: TestContext, handler: Parameters<typeof serve>[0], options: ServeOptions = {}) {
    const server: AppServer = await serve(handler, { port: 0, ...options });
    t.after(() => server.close({ timeout: 500 }));
    return server;
  }

  /** One raw HTTP/1.1 exchange over TCP: what the client sends is exactly `head`. */
  async function raw(port: number, head: string): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    socket.end(head);
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('latin1');
  }

  test('a Hono app answers its routes, params, query and 404 over loopback', T, async (t) => {
    const hono = new Hono()
      .get('/', (c) => c.text('Hello Hono!'))
      .get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }))
      .get('/url', (c) => c.text(c.req.url));
    const server = await host(t, hono.fetch);
    const home = await fetch(server.url);
    assert.equal(home.status, 200);
    // A body that is whole in one chunk goes out with its length, not chunked.
    assert.equal(home.headers.get('content-length'), '11');
    assert.equal(await home.text(), 'Hello Hono!');
    assert.deepEqual(await (await fetch(`${server.url}users/7?q=x`)).json(), { id: '7', q: 'x' });
    assert.equal(await (await fetch(`${server.url}url?a=1`)).text(), `${server.url}url?a=1`);
    assert.equal((await fetch(`${server.url}missing`)).status, 404);
  });

  test('POST bodies reach the handler: JSON, and a large upload streamed', T, async (t) => {
    const hono = new Hono()
      .post('/echo', async (c) => c.json({ got: await c.req.json() }))
      .post('/count', async (c) => {
        let bytes = 0;
        for await (const chunk of c.req.raw.body as ReadableStream<Uint8Array>) bytes += chunk.length;
        return c.json({ bytes });
      })
      .post('/empty', async (c) => c.json({ text: await c.req.text() }));
    const server = await host(t, hono.fetch, { bodyLimit: 8 * 1024 * 1024 });
    const echo = await fetch(`${server.url}echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ann' }),
    });
    assert.deepEqual(await echo.json(), { got: { name: 'ann' } });
    const size = 5 * 1024 * 1024;
    const count = await fetch(`${server.url}count`, {
      method: 'POST',
      body: bodyOf(size),
      duplex: 'half',
    } as RequestInit);
    assert.deepEqual(await count.json(), { bytes: size });
    const empty = await fetch(`${server.url}empty`, { method: 'POST' });
    assert.deepEqual(await empty.json(), { text: '' });
  });

  test("Hono's bodyLimit answers 413 mid-upload, and the connection stays usable", T, async (t) => {
    const hono = new Hono()
      .post('/upload', bodyLimit({ maxSize: 1024 }), async (c) =>
        c.text(`got ${(await c.req.text()).length}`),
      )
      .get('/after', (c) => c.text('still here'));
    // wirekit's own limit lifted: this is about Hono's.
    const server = await host(t, hono.fetch, { bodyLimit: Infinity });
    const small = await fetch(`${server.url}upload`, { method: 'POST', body: 'x'.repeat(100) });
    assert.equal(await small.text(), 'got 100');
    const big = await fetch(`${server.url}upload`, {
      method: 'POST',
      body: bodyOf(4 * 1024 * 1024),
      duplex: 'half',
    } as RequestInit);
    assert.equal(big.status, 413);
    await big.arrayBuffer();
    assert.equal(await (await fetch(`${server.url}after`)).text(), 'still here');
  });

  test(
    'bodyLimit (1 MiB by default): a declared Content-Length over it is a 413 before the handler runs',
    T,
    async (t) => {
      let calls = 0;
      const server = await host(t, async (request) => {
        calls++;
        return new Response(`got ${(await request.arrayBuffer()).byteLength}`);
      });
      const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * 1024 + 1}\r\n\r\n`;
      const text = await raw(server.port, head + 'x'.repeat(1000));
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.match(text, /\r\nConnection: close\r\n/i);
      assert.equal(calls, 0);
      const ok = await fetch(server.url, { method: 'POST', body: 'x'.repeat(1024 * 1024) });
      assert.equal(await ok.text(), `got ${1024 * 1024}`);
      assert.equal(calls, 1);
    },
  );

  test(
    'a chunked body past bodyLimit gets a 413 while the handler reads; its failure is not an error',
    T,
    async (t) => {
      const reported: unknown[] = [];
      const server = await host(
        t,
        async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength}`),
        { bodyLimit: 100_000, onServerError: (err) => reported.push(err) },
      );
      const big = await fetch(server.url, {
        method: 'POST',
        body: bodyOf(1024 * 1024),
        duplex: 'half',
      } as RequestInit);
      assert.equal(big.status, 413);
      assert.equal(big.headers.get('connection'), 'close');
      await big.arrayBuffer();
      const small = await fetch(server.url, {
        method: 'POST',
        body: bodyOf(100_000),
        duplex: 'half',
      } as RequestInit);
      assert.equal(await small.text(), 'got 100000');
      assert.deepEqual(reported, []);
    },
  );

  test('bodyLimit must be a non-negative integer or Infinity', async () => {
    const handler = () => new Response('x');
    await assert.rejects(serve(handler, { port: 0, bodyLimit: -1 }), RangeError);
    await assert.rejects(serve(handler, { port: 0, bodyLimit: 1.5 }), RangeError);
    await assert.rejects(serve(handler, { port: 0, bodyLimit: '1' as unknown as number }), TypeError);
  });

  test('a handler that cancels the request body still answers, and keep-alive goes on', T, async (t) => {
    const server = await host(t, async (request) => {
      if (request.body !== null) await request.body.cancel();
      return new Response(`${request.method} done\n`);
    });
    const body = 'x'.repeat(200_000);
    const text = await raw(
      server.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nPOST done\nHTTP\/1\.1 200 OK\r\n[^]*GET done\n$/);
  });

  test('a streamed Hono response reaches the client chunk by chunk', T, async (t) => {
    const second = deferred();
    const hono = new Hono().get('/stream', (c) =>
      stream(c, async (s) => {
        await s.write('first;');
        await second.promise;
        await s.write('second;');
      }),
    );
    const server = await host(t, hono.fetch);
    const res = await fetch(`${server.url}stream`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await within(reader.read(), 5_000, 'the first chunk');
    assert.equal(decoder.decode(first.value), 'first;');
    second.resolve();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += decoder.decode(r.value);
    assert.equal(rest, 'second;');
  });

  test("a client that goes away aborts the handler's request signal and cancels its body", T, async (t) => {
    const aborted = deferred();
    const cancelled = deferred();
    const server = await host(t, (request) => {
      request.signal.addEventListener('abort', () => aborted.resolve());
      let n = 0;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            await sleep(5);
            controller.enqueue(new TextEncoder().encode(`tick ${n++}\n`));
          },
          cancel() {
            cancelled.resolve();
          },
        }),
      );
    });
    const controller = new AbortController();
    const res = await fetch(server.url, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await within(reader.read(), 5_000, 'the first chunk');
    controller.abort();
    await within(aborted.promise, 5_000, 'the request signal abort');
    await within(cancelled.promise, 5_000, 'the response body cancel');
  });

  test('every Set-Cookie goes out as its own header', T, async (t) => {
    const hono = new Hono().get('/login', (c) => {
      setCookie(c, 'session', 'abc', { httpOnly: true, path: '/' });
      setCookie(c, 'theme', 'dark', { maxAge: 60 });
      return c.text('in');
    });
    const server = await host(t, hono.fetch);
    const res = await fetch(`${server.url}login`);
    assert.deepEqual(res.headers.getSetCookie(), [
      'session=abc; Path=/; HttpOnly',
      'theme=dark; Max-Age=60; Path=/',
    ]);
  });

  test('HEAD sends the head with Content-Length and no body; Content-Length passes through', T, async (t) => {
    const server = await host(
      t,
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('exactly 17 bytes!'));
              controller.close();
            },
          }),
          { headers: { 'content-length': '17', 'content-type': 'text/plain' } },
        ),
    );
    const get = await raw(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(get, /content-length: 17\r\n/i);
    assert.doesNotMatch(get, /transfer-encoding/i);
    assert.ok(get.endsWith('\r\n\r\nexactly 17 bytes!'));
    const head = await raw(server.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /content-length: 17\r\n/i);
    assert.ok(head.endsWith('\r\n\r\n'), 'no body after the head');
  });

  test('a handler that throws is a 500 that leaks nothing, and is reported', T, async (t) => {
    const reported: unknown[] = [];
    const server = await host(
      t,
      (request) => {
        if (new URL(request.url).pathname === '/not-a-response') return 'oops' as unknown as Response;
        throw new Error('secret detail');
      },
      { onServerError: (err) => reported.push(err) },
    );
    const res = await fetch(server.url);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), 'Internal Server Error\n');
    const wrong = await fetch(`${server.url}not-a-response`);
    assert.equal(wrong.status, 500);
    assert.equal(reported.length, 2);
    assert.equal((reported[0] as Error).message, 'secret detail');
    assert.match((reported[1] as Error).message, /returned string, not a Response/);
  });

  test('a body stream that fails is a 500 before the head, and a cut connection after it', T, async (t) => {
    const reported: unknown[] = [];
    const server = await host(
      t,
      (request) => {
        const path = new URL(request.url).pathname;
        return new Response(
          new ReadableStream({
            async pull(controller) {
              if (path === '/late') {
                controller.enqueue(new TextEncoder().encode('partial'));
                await sleep(10);
              }
              controller.error(new Error('disk on fire'));
            },
          }),
        );
      },
      { onServerError: (err) => reported.push(err) },
    );
    const early = await fetch(`${server.url}early`);
    assert.equal(early.status, 500);
    assert.equal(await early.text(), 'Internal Server Error\n');
    const late = await fetch(`${server.url}late`);
    assert.equal(late.status, 200);
    await assert.rejects(late.text());
    assert.equal(reported.length, 2);
    assert.ok(reported.every((err) => (err as Error).message === 'disk on fire'));
  });

  test('a Host that would change the URL is a 400 and never reaches the handler', T, async (t) => {
    let calls = 0;
    const server = await host(t, () => {
      calls++;
      return new Response('ok');
    });
    for (const bad of ['evil.test/x?', 'user@evil.test', 'a\\b']) {
      const text = await raw(server.port, `GET / HTTP/1.1\r\nHost: ${bad}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 400 /, bad);
    }
    assert.equal(calls, 0);
    const ok = await raw(server.port, 'GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n');
    assert.match(ok, /^HTTP\/1\.1 200 /);
  });

  test('a wirekit App is a fetch handler too: app.fetch works unbound', T, async (t) => {
    const app = new App().get('/hi/:name', (ctx) => `hi ${ctx.params.name}`);
    const server = await host(t, app.fetch);
    assert.equal(await (await fetch(`${server.url}hi/ann`)).text(), 'hi ann');
  });

  test('over HTTP/2 with TLS: pseudo-headers stay out, hop-by-hop headers are dropped', T, async (t) => {
    const hono = new Hono().post('/echo', async (c) => {
      c.header('connection', 'keep-alive');
      return c.json({ url: c.req.url, body: await c.req.text(), names: [...c.req.raw.headers.keys()] });
    });
    const server = await host(t, hono.fetch, { tls: tlsFixture, http2: true });
    const session = http2.connect(server.url, { ca: tlsFixture.cert });
    t.after(() => session.close());
    const stream = session.request({ ':method': 'POST', ':path': '/echo?x=1', 'x-test': 'yes' });
    stream.end('hello h2');
    const [headers] = (await within(once(stream, 'response'), 5_000, 'the h2 response')) as [
      http2.IncomingHttpHeaders,
    ];
    assert.equal(headers[':status'], 200);
    assert.equal(headers.connection, undefined);
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    const got = JSON.parse(text) as { url: string; body: string; names: string[] };
    assert.equal(got.url, `${server.url}echo?x=1`);
    assert.equal(got.body, 'hello h2');
    assert.ok(got.names.includes('x-test'));
    assert.ok(!got.names.some((name) => name.startsWith(':')));
    await new Promise<void>((resolve) => session.close(resolve));
  });
});
