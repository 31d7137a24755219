import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { describe, type TestContext, test } from 'node:test';
import { App, type AppServer, HttpError, notFound } from '../../src/server/index.js';
import { root } from '../helpers.js';

const T = { timeout: 20_000 };

async function serve(t: TestContext, app: App): Promise<AppServer> {
  const server = await app.listen({ port: 0 });
  t.after(() => server.close({ timeout: 500 }));
  return server;
}

/** One raw HTTP/1.1 exchange over TCP: what a client sends is exactly `head`. */
async function raw(port: number, head: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.end(head);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

describe('routing', () => {
  test('GET / answers the seed Flask app: Hello World! as text/plain with Content-Length', T, async (t) => {
    const app = new App().get('/', () => 'Hello World!');
    const server = await serve(t, app);
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('content-length'), '12');
    assert.equal(await res.text(), 'Hello World!');
  });

  test('route parameters and wildcards are decoded into ctx.params', T, async (t) => {
    const app = new App()
      .get('/users/:id/books/:book', (ctx) => ctx.params)
      .get('/files/*', (ctx) => ({ rest: ctx.params['*'] }));
    const server = await serve(t, app);
    assert.deepEqual(await (await fetch(`${server.url}users/42/books/a%20b`)).json(), {
      id: '42',
      book: 'a b',
    });
    assert.deepEqual(await (await fetch(`${server.url}files/x/y.txt`)).json(), { rest: 'x/y.txt' });
  });

  test('HEAD is answered from GET with the same headers and no body', T, async (t) => {
    const app = new App().get('/', () => 'Hello World!');
    const server = await serve(t, app);
    const text = await raw(server.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /content-length: 12\r\n/i);
    assert.ok(text.endsWith('\r\n\r\n'), 'no body after the head');
  });

  test('an unknown path is 404; a known path with another method is 405 with Allow', T, async (t) => {
    const app = new App().get('/items', () => []).post('/items', () => ({}));
    const server = await serve(t, app);
    assert.equal((await fetch(`${server.url}nope`)).status, 404);
    const res = await fetch(`${server.url}items`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, POST, HEAD');
    // Routing errors are made without a stack trace, and leave the process's setting as it was.
    assert.equal(Error.stackTraceLimit, 10);
  });

  test('a parameter over 100 characters is a 404', T, async (t) => {
    const app = new App().get('/p/:id', (ctx) => ctx.params.id);
    const server = await serve(t, app);
    assert.equal((await fetch(`${server.url}p/${'a'.repeat(100)}`)).status, 200);
    assert.equal((await fetch(`${server.url}p/${'a'.repeat(101)}`)).status, 404);
  });

  test('trailing slashes are strict by default and ignored with trailingSlash: ignore', T, async (t) => {
    const strict = await serve(
      t,
      new App().get('/a', () => 'a'),
    );
    assert.equal((await fetch(`${strict.url}a/`)).status, 404);
    const loose = await serve(
      t,
      new App({ trailingSlash: 'ignore' }).get('/a', () => 'a'),
    );
    assert.equal(await (await fetch(`${loose.url}a/`)).text(), 'a');
  });

  test('mount serves a sub-app under a prefix with its own middleware', T, async (t) => {
    const api = new App();
    api.use(async (ctx, next) => {
      ctx.set('x-api', 'yes');
      return next();
    });
    api.get('/users', () => ['ann']);
    const app = new App().get('/', () => 'home').mount('/api', api);
    const server = await serve(t, app);
    const res = await fetch(`${server.url}api/users`);
    assert.deepEqual(await res.json(), ['ann']);
    assert.equal(res.headers.get('x-api'), 'yes');
    assert.equal((await fetch(server.url)).headers.get('x-api'), null);
  });

  test('a malformed percent-encoding anywhere in the path is a 400, not a 404', T, async (t) => {
    const app = new App().get('/p/:id', (ctx) => ctx.params.id).static('/s', root);
    const server = await serve(t, app);
    for (const path of ['/p/%E0%A4%A', '/p/%zz', '/%', '/nope/%E0%A4', '/s/%zz']) {
      const text = await raw(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 400 /, path);
    }
    // Well-formed escapes still route, and a miss is still a 404.
    assert.match(
      await raw(server.port, 'GET /p/a%20b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      /\r\n\r\na b$/,
    );
    assert.match(
      await raw(server.port, 'GET /nope%20x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      /^HTTP\/1\.1 404 /,
    );
  });
});

describe('responses', () => {
  test('each kind of return value becomes the matching response', T, async (t) => {
    const app = new App()
      .get('/json', () => ({ a: 1 }))
      .get('/array', () => [1, 2])
      .get('/bytes', () => new Uint8Array([1, 2, 3]))
      .get('/web', () => new Response('web', { status: 201, headers: { 'x-web': '1' } }))
      .get('/readable', () => Readable.from(['a', 'b', 'c']))
      .get('/iterable', () =>
        (async function* () {
          yield 'x';
          yield 'y';
        })(),
      )
      .get('/literal-iterable', () => ({
        async *[Symbol.asyncIterator]() {
          yield 'l';
          yield 'i';
        },
      }))
      .get('/null-proto', () => Object.assign(Object.create(null) as object, { n: 1 }))
      .get(
        '/instance',
        () =>
          new (class Point {
            x = 1;
            y = 2;
          })(),
      )
      .get('/nothing', () => undefined)
      .post('/created', (ctx) => {
        ctx.status = 201;
        return { ok: true };
      });
    const server = await serve(t, app);
    const json = await fetch(`${server.url}json`);
    assert.equal(json.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(json.headers.get('content-length'), '7');
    assert.deepEqual(await json.json(), { a: 1 });
    assert.deepEqual(await (await fetch(`${server.url}array`)).json(), [1, 2]);
    const bytes = await fetch(`${server.url}bytes`);
    assert.equal(bytes.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual(new Uint8Array(await bytes.arrayBuffer()), new Uint8Array([1, 2, 3]));
    const web = await fetch(`${server.url}web`);
    assert.equal(web.status, 201);
    assert.equal(web.headers.get('x-web'), '1');
    assert.equal(await web.text(), 'web');
    assert.equal(await (await fetch(`${server.url}readable`)).text(), 'abc');
    assert.equal(await (await fetch(`${server.url}iterable`)).text(), 'xy');
    // An object literal that is an async iterable streams; other objects are JSON.
    assert.equal(await (await fetch(`${server.url}literal-iterable`)).text(), 'li');
    assert.deepEqual(await (await fetch(`${server.url}null-proto`)).json(), { n: 1 });
    assert.deepEqual(await (await fetch(`${server.url}instance`)).json(), { x: 1, y: 2 });
    const nothing = await fetch(`${server.url}nothing`);
    assert.equal(nothing.status, 204);
    const created = await fetch(`${server.url}created`, { method: 'POST' });
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { ok: true });
  });

  test('redirect() sends Location with the status asked for', T, async (t) => {
    const app = new App().get('/old', (ctx) => ctx.redirect('/new', 301));
    const server = await serve(t, app);
    const res = await fetch(`${server.url}old`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), '/new');
  });
});

describe('middleware and errors', () => {
  test('middleware runs in onion order and can change the result', T, async (t) => {
    const order: string[] = [];
    const app = new App();
    app.use(async (_ctx, next) => {
      order.push('a>');
      const result = await next();
      order.push('<a');
      return result;
    });
    app.use(async (_ctx, next) => {
      order.push('b>');
      const result = (await next()) as string;
      order.push('<b');
      return result.toUpperCase();
    });
    app.get(
      '/',
      async (ctx, next) => {
        order.push('route>');
        ctx.state.user = 'ann';
        return next();
      },
      (ctx) => {
        order.push('handler');
        return `hi ${ctx.state.user}`;
      },
    );
    const server = await serve(t, app);
    assert.equal(await (await fetch(server.url)).text(), 'HI ANN');
    assert.deepEqual(order, ['a>', 'b>', 'route>', 'handler', '<b', '<a']);
  });

  test('app middleware also sees 404s', T, async (t) => {
    const seen: number[] = [];
    const app = new App();
    app.use(async (_ctx, next) => {
      try {
        return await next();
      } catch (err) {
        seen.push((err as HttpError).status);
        throw err;
      }
    });
    const server = await serve(t, app);
    assert.equal((await fetch(`${server.url}missing`)).status, 404);
    assert.deepEqual(seen, [404]);
  });

  test('HttpError answers with its status, headers and message', T, async (t) => {
    const app = new App().get('/', () => {
      throw new HttpError(401, 'who are you?', { headers: { 'www-authenticate': 'Basic' } });
    });
    const server = await serve(t, app);
    const res = await fetch(server.url);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic');
    assert.equal(await res.text(), 'who are you?\n');
    const json = await fetch(server.url, { headers: { accept: 'application/json' } });
    assert.deepEqual(await json.json(), { error: 'who are you?', status: 401 });
  });

  test('a thrown Error is a 500 that leaks neither message nor stack, and is reported', T, async (t) => {
    const reported: unknown[] = [];
    const app = new App({ onServerError: (err) => reported.push(err) });
    app.get('/', () => {
      throw new Error('secret database password');
    });
    app.get('/async', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new Error('secret too');
    });
    const server = await serve(t, app);
    for (const path of ['', 'async']) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 500);
      const body = await res.text();
      assert.equal(body, 'Internal Server Error\n');
    }
    assert.equal(reported.length, 2);
  });

  test('a 500 HttpError may expose its message when it says so', T, async (t) => {
    const app = new App({ onServerError: () => undefined }).get('/', () => {
      throw new HttpError(503, 'down for maintenance', { expose: true });
    });
    const server = await serve(t, app);
    const res = await fetch(server.url);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'down for maintenance\n');
  });

  test('onError replaces the error response', T, async (t) => {
    const app = new App().get('/', () => {
      throw notFound('gone');
    });
    app.onError((err, ctx) => {
      ctx.status = (err as HttpError).status;
      return { problem: (err as HttpError).message };
    });
    const server = await serve(t, app);
    const res = await fetch(server.url);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { problem: 'gone' });
  });
});

describe('context', () => {
  test('query, headers and ip are there; X-Forwarded-For only with trustProxy', T, async (t) => {
    const handler = (ctx: import('../../src/server/index.js').Context) => ({
      q: ctx.query.q,
      all: ctx.queryAll('tag'),
      ua: ctx.headers['user-agent'],
      ip: ctx.ip,
    });
    const plain = await serve(t, new App().get('/', handler));
    const init = { headers: { 'user-agent': 'test-agent', 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } };
    assert.deepEqual(await (await fetch(`${plain.url}?q=1&tag=a&tag=b`, init)).json(), {
      q: '1',
      all: ['a', 'b'],
      ua: 'test-agent',
      ip: '127.0.0.1',
    });
    const proxied = await serve(t, new App({ trustProxy: true }).get('/', handler));
    assert.equal(((await (await fetch(proxied.url, init)).json()) as { ip: string }).ip, '203.0.113.7');
  });

  test('cookies are read, set with attributes, and signed cookies are verified', T, async (t) => {
    const app = new App({ cookieSecret: 's3cret' });
    app.get('/set', (ctx) => {
      ctx.cookies.set('theme', 'dark mode', { maxAge: 60 });
      ctx.cookies.set('user', 'ann', { signed: true, sameSite: 'Strict' });
      return 'ok';
    });
    app.get('/get', (ctx) => ({
      theme: ctx.cookies.get('theme'),
      user: ctx.cookies.get('user', { signed: true }) ?? null,
    }));
    const server = await serve(t, app);
    const set = await fetch(`${server.url}set`);
    const cookies = set.headers.getSetCookie();
    assert.equal(cookies[0], 'theme=dark%20mode; Max-Age=60; Path=/; HttpOnly; SameSite=Lax');
    assert.match(cookies[1]!, /^user=ann\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const signed = cookies[1]!.split(';')[0]!;
    const good = await fetch(`${server.url}get`, { headers: { cookie: `theme=dark%20mode; ${signed}` } });
    assert.deepEqual(await good.json(), { theme: 'dark mode', user: 'ann' });
    const forged = await fetch(`${server.url}get`, {
      headers: { cookie: `${signed.replace('ann', 'bob')}` },
    });
    assert.deepEqual(await forged.json(), { user: null });
  });

  test('ctx.signal aborts when the client goes away mid-request', T, async (t) => {
    let aborted: Promise<unknown> | undefined;
    const app = new App().get('/slow', (ctx) => {
      aborted = once(ctx.signal, 'abort');
      return new Promise(() => undefined);
    });
    const server = await serve(t, app);
    const req = httpRequest(`${server.url}slow`);
    req.on('error', () => undefined);
    req.end();
    while (aborted === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    req.destroy();
    await aborted;
  });
});

describe('lifecycle', () => {
  test('startup and shutdown hooks run around listen and close', T, async () => {
    const events: string[] = [];
    const app = new App().onStartup(() => void events.push('up')).onShutdown(() => void events.push('down'));
    const server = await app.listen({ port: 0 });
    assert.deepEqual(events, ['up']);
    await server.close();
    assert.deepEqual(events, ['up', 'down']);
  });

  test(
    'close lets in-flight requests finish and answers new ones on open connections with 503',
    T,
    async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const app = new App().get('/slow', async () => {
        await gate;
        return 'finished';
      });
      app.get('/fast', () => 'fast');
      const server = await app.listen({ port: 0 });
      // A keep-alive connection with a request in flight; the next request on it comes after close().
      const socket = net.connect(server.port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = server.close({ timeout: 5_000 });
      socket.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await once(socket, 'close');
      await closing;
      const text = Buffer.concat(received).toString();
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nfinished/);
      assert.match(text, /HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*[Cc]onnection: close\r\n/);
      assert.doesNotMatch(text, /\r\n\r\nfast/);
    },
  );

  test('close force-closes what is still open at the deadline', T, async () => {
    const app = new App().get('/never', () => new Promise(() => undefined));
    const server = await app.listen({ port: 0 });
    const req = fetch(`${server.url}never`).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await server.close({ timeout: 300 });
    assert.ok(Date.now() - started < 3_000);
    assert.ok((await req) instanceof Error);
  });

  test('timeouts are on by default: headers 60 s, request 300 s, keep-alive 72 s', T, async (t) => {
    const server = await serve(t, new App());
    const node = server.server as import('node:http').Server;
    assert.deepEqual(
      [node.headersTimeout, node.requestTimeout, node.keepAliveTimeout],
      [60_000, 300_000, 72_000],
    );
    // A request timeout shorter than the headers timeout would be swapped by node: refused.
    await assert.rejects(new App().listen({ port: 0, requestTimeout: 3_000 }), /headersTimeout/);
    const short = await new App().listen({ port: 0, requestTimeout: 3_000, headersTimeout: 2_000 });
    await short.close();
  });
});
