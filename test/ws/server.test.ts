import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import { WebSocket as RawWs } from 'ws';
import { WebSocketClosedError, WebSocketHandshakeError } from '../../src/errors.js';
import { accessLog, App, forbidden, unauthorized } from '../../src/server/index.js';
import { connectWebSocket, type Message, type WebSocket } from '../../src/ws/index.js';
import { root, tlsFixture } from '../helpers.js';
import { closeCodeIn, connect, echoApp, frame, handshake, rawPeer, serve, within } from './helpers.js';

const T = { timeout: 20_000 };

/** What a raw ws client saw when its connection closed. */
function closeOf(client: RawWs): Promise<[number, string]> {
  return new Promise((resolve) => client.once('close', (code, reason) => resolve([code, reason.toString()])));
}

describe('routing and middleware', () => {
  test(
    'route parameters are in ctx.params; app and route middleware run first with a normal ctx',
    T,
    async (t) => {
      const order: string[] = [];
      const app = new App()
        .use(async (ctx, next) => {
          order.push(`app ${ctx.method} ${ctx.path}`);
          ctx.state.user = ctx.query.user;
          return next();
        })
        .ws(
          '/rooms/:room',
          async (ctx, next) => {
            order.push('route');
            return next();
          },
          async (socket, ctx) => {
            await socket.send(`${String(ctx.state.user)} in ${ctx.params.room}`);
          },
        );
      const server = await serve(t, app);
      const socket = await connect(t, server, '/rooms/blue?user=ann');
      assert.equal((await socket.receive())?.text, 'ann in blue');
      assert.deepEqual(order, ['app GET /rooms/blue', 'route']);
    },
  );

  test(
    'a middleware throwing unauthorized() refuses the upgrade with a plain 401, and the socket closes',
    T,
    async (t) => {
      const app = new App()
        .use((ctx, next) => {
          if (ctx.headers.authorization !== 'Bearer ok') throw unauthorized('who are you?');
          return next();
        })
        .ws('/', (socket) => socket.send('in'));
      const server = await serve(t, app);
      const peer = await rawPeer(t, server.port, handshake('/'));
      assert.equal(peer.status, 401);
      assert.match(peer.head, /\r\nconnection: close/i);
      assert.match((await within(peer.ended, 5_000, 'the close')).toString(), /who are you\?/);
      const err = await connectWebSocket(`ws://127.0.0.1:${server.port}/`).catch((e: unknown) => e);
      assert.ok(err instanceof WebSocketHandshakeError);
      assert.equal(err.status, 401);
      const socket = await connect(t, server, '/', { headers: { authorization: 'Bearer ok' } });
      assert.equal((await socket.receive())?.text, 'in');
    },
  );

  test('per-route middleware throwing forbidden() gets a 403', T, async (t) => {
    const app = new App().ws(
      '/',
      () => {
        throw forbidden();
      },
      () => undefined,
    );
    const server = await serve(t, app);
    const peer = await rawPeer(t, server.port, handshake('/'));
    assert.equal(peer.status, 403);
  });

  test(
    'a middleware that answers instead of calling next() sends its answer over HTTP, then closes',
    T,
    async (t) => {
      const app = new App()
        .use((ctx, next) => {
          if (ctx.query.busy !== undefined) {
            ctx.status = 503;
            return 'try later';
          }
          return next();
        })
        .ws('/', (socket) => socket.send('in'));
      const server = await serve(t, app);
      const peer = await rawPeer(t, server.port, handshake('/?busy'));
      assert.equal(peer.status, 503);
      assert.equal((await within(peer.ended, 5_000, 'the close')).toString(), 'try later');
    },
  );

  test('headers and cookies middleware set go out with the 101', T, async (t) => {
    const app = new App()
      .use((ctx, next) => {
        ctx.set('x-request-id', 'r1');
        ctx.cookies.set('sid', 'abc');
        return next();
      })
      .ws('/', () => undefined);
    const server = await serve(t, app);
    const peer = await rawPeer(t, server.port, handshake('/'));
    assert.equal(peer.status, 101);
    assert.match(peer.head, /\r\nx-request-id: r1\r\n/i);
    assert.match(peer.head, /\r\nset-cookie: sid=abc/i);
  });

  test(
    'an upgrade to a path without a ws route is 404; a plain GET to a ws route is 426 with Upgrade',
    T,
    async (t) => {
      const app = echoApp().get('/page', () => 'page');
      const server = await serve(t, app);
      assert.equal((await rawPeer(t, server.port, handshake('/nowhere'))).status, 404);
      assert.equal((await rawPeer(t, server.port, handshake('/page'))).status, 404);
      const res = await fetch(`${server.url}echo`);
      assert.equal(res.status, 426);
      assert.equal(res.headers.get('upgrade'), 'websocket');
      await res.text();
      // The HTTP routes still answer, over the same server.
      assert.equal(await (await fetch(`${server.url}page`)).text(), 'page');
    },
  );

  test('a GET route on a ws path answers plain GETs; upgrades still reach the ws route', T, async (t) => {
    const app = echoApp().get('/echo', () => 'the echo page');
    const server = await serve(t, app);
    assert.equal(await (await fetch(`${server.url}echo`)).text(), 'the echo page');
    const socket = await connect(t, server, '/echo');
    await socket.send('hi');
    assert.equal((await socket.receive())?.text, 'hi');
  });

  test(
    'an Upgrade to another protocol (h2c) is answered as a normal request, then the connection closes',
    T,
    async (t) => {
      const server = await serve(
        t,
        echoApp().get('/page', () => 'page'),
      );
      const peer = await rawPeer(
        t,
        server.port,
        'GET /page HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      );
      assert.equal(peer.status, 200);
      assert.equal((await within(peer.ended, 5_000, 'the close')).toString(), 'page');
    },
  );

  test('a non-GET upgrade is 405 with Allow: GET', T, async (t) => {
    const server = await serve(t, echoApp());
    const peer = await rawPeer(t, server.port, handshake('/echo').replace(/^GET/, 'POST'));
    assert.equal(peer.status, 405);
    assert.match(peer.head, /\r\nallow: GET/i);
  });

  test('mount() carries ws routes under the prefix with the mounted app middleware', T, async (t) => {
    const api = new App()
      .use((ctx, next) => {
        ctx.state.api = true;
        return next();
      })
      .ws('/live', (socket, ctx) => socket.send(`api=${String(ctx.state.api)}`));
    const server = await serve(t, new App().mount('/api', api));
    const socket = await connect(t, server, '/api/live');
    assert.equal((await socket.receive())?.text, 'api=true');
  });
});

test(
  'accessLog records a WebSocket session once it closed, with status 101 and its request id',
  T,
  async (t) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = { info: (fields: Record<string, unknown>) => lines.push(fields) };
    const app = new App().use(accessLog({ logger: logger as never })).ws('/live', async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    const server = await serve(t, app);
    const peer = await rawPeer(t, server.port, handshake('/live'));
    assert.match(peer.head, /\r\nx-request-id: [0-9a-f-]{36}(\r\n|$)/i);
    assert.equal(lines.length, 0, 'nothing logged while the session is open');
    peer.socket.destroy();
    await within(
      (async () => {
        while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      })(),
      5_000,
      'the log line',
    );
    assert.equal(lines[0]?.status, 101);
    assert.equal(lines[0]?.path, '/live');
  },
);

describe('the handshake', () => {
  test(
    'the first of the route protocols that the client offers is chosen; none in common: no protocol',
    T,
    async (t) => {
      const app = new App().ws('/', { protocols: ['v2', 'v1'] }, (socket) => socket.send(socket.protocol));
      const server = await serve(t, app);
      const both = await connect(t, server, '/', { protocols: ['v1', 'v2'] });
      assert.equal(both.protocol, 'v2');
      assert.equal((await both.receive())?.text, 'v2');
      const peer = await rawPeer(t, server.port, handshake('/', 'Sec-WebSocket-Protocol: v3, v4\r\n'));
      assert.equal(peer.status, 101);
      assert.doesNotMatch(peer.head, /sec-websocket-protocol/i);
    },
  );

  test('a route without protocols chooses none, whatever the client offers', T, async (t) => {
    const server = await serve(t, echoApp());
    const peer = await rawPeer(
      t,
      server.port,
      handshake('/echo', 'Sec-WebSocket-Protocol: chat, superchat\r\n'),
    );
    assert.equal(peer.status, 101);
    assert.doesNotMatch(peer.head, /sec-websocket-protocol/i);
  });

  test('permessage-deflate is off by default and negotiated when both ends opt in', T, async (t) => {
    const app = new App()
      .ws('/plain', (socket) => socket.send(socket.extensions))
      .ws('/deflate', { perMessageDeflate: true }, async (socket) => {
        await socket.send(socket.extensions);
        for await (const message of socket) await socket.send(message);
      });
    const server = await serve(t, app);
    const plain = await connect(t, server, '/plain', { perMessageDeflate: true });
    assert.equal((await plain.receive())?.text, '');
    const deflate = await connect(t, server, '/deflate', { perMessageDeflate: true });
    assert.match((await deflate.receive())?.text ?? '', /^permessage-deflate/);
    assert.match(deflate.extensions, /^permessage-deflate/);
    const big = 'abc'.repeat(100_000);
    await deflate.send(big);
    assert.equal((await deflate.receive())?.text, big);
  });

  test('origins: same-origin by default, a list, a function; a refused origin gets 403', T, async (t) => {
    const app = new App()
      .ws('/same', () => undefined)
      .ws('/list', { origins: ['https://good.example'] }, () => undefined)
      .ws('/fn', { origins: (origin) => origin?.endsWith('.trusted.example') === true }, () => undefined)
      .ws('/any', { origins: 'any' }, () => undefined);
    const server = await serve(t, app);
    const status = async (path: string, origin?: string, host = '127.0.0.1') => {
      const extra = origin === undefined ? '' : `Origin: ${origin}\r\n`;
      const head = handshake(path, extra).replace('Host: 127.0.0.1', `Host: ${host}`);
      return (await rawPeer(t, server.port, head)).status;
    };
    assert.equal(await status('/same', 'http://127.0.0.1'), 101);
    assert.equal(await status('/same', `http://127.0.0.1:${server.port}`, `127.0.0.1:${server.port}`), 101);
    assert.equal(await status('/same', 'https://evil.example'), 403);
    assert.equal(await status('/same', 'null'), 403);
    assert.equal(await status('/same'), 101);
    assert.equal(await status('/list', 'https://GOOD.example'), 101);
    assert.equal(await status('/list', 'https://bad.example'), 403);
    assert.equal(await status('/fn', 'https://a.trusted.example'), 101);
    assert.equal(await status('/fn'), 403);
    assert.equal(await status('/any', 'https://evil.example'), 101);
  });

  test('a malformed handshake (no key) gets ws own 400', T, async (t) => {
    const server = await serve(t, echoApp());
    const peer = await rawPeer(t, server.port, handshake('/echo').replace(/Sec-WebSocket-Key: .*\r\n/, ''));
    assert.equal(peer.status, 400);
  });

  test('wss: on an HTTPS server', T, async (t) => {
    const server = await serve(t, echoApp(), { tls: tlsFixture });
    const socket = await connectWebSocket(`wss://localhost:${server.port}/echo`, { ca: tlsFixture.cert });
    t.after(() => socket.terminate());
    await socket.send('secure');
    assert.equal((await socket.receive())?.text, 'secure');
  });

  test('an http2 server refuses ws routes at listen', T, async () => {
    await assert.rejects(echoApp().listen({ port: 0, tls: tlsFixture, http2: true }), TypeError);
  });
});

describe('the handler', () => {
  test('returning closes with 1000; throwing closes with 1011 and reports to onServerError', T, async (t) => {
    const reported: unknown[] = [];
    const app = new App({ onServerError: (err) => reported.push(err) })
      .ws('/done', () => undefined)
      .ws('/boom', () => {
        throw new Error('boom');
      })
      .ws('/closed', () => {
        throw new WebSocketClosedError(1006);
      });
    const server = await serve(t, app);
    const result = async (path: string) => {
      const client = new RawWs(`ws://127.0.0.1:${server.port}${path}`);
      t.after(() => client.terminate());
      return within(closeOf(client), 5_000, path);
    };
    assert.deepEqual(await result('/done'), [1000, '']);
    assert.deepEqual(await result('/boom'), [1011, 'internal error']);
    assert.deepEqual(await result('/closed'), [1000, '']);
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as Error).message, 'boom');
  });
});

describe('graceful close', () => {
  test(
    'server.close() delivers what was queued, then 1001 Going Away, and resolves once sockets closed',
    T,
    async (t) => {
      let resolveReady!: () => void;
      const ready = { promise: new Promise<void>((r) => (resolveReady = r)), resolve: () => resolveReady() };
      const app = new App().ws('/', async (socket) => {
        for (let i = 0; i < 50; i++) void socket.send(`m${i}`);
        ready.resolve();
        for await (const message of socket) void message;
      });
      const server = await app.listen({ port: 0 });
      t.after(() => server.close({ timeout: 100 }));
      const socket = await connectWebSocket(`ws://127.0.0.1:${server.port}/`);
      t.after(() => socket.terminate());
      await ready.promise;
      const received: Message[] = [];
      const reading = (async () => {
        for await (const message of socket) received.push(message);
      })();
      const start = Date.now();
      await within(server.close({ timeout: 5_000 }), 6_000, 'server.close()');
      assert.ok(Date.now() - start < 2_000, 'did not wait for the deadline');
      await reading;
      assert.equal(received.length, 50);
      assert.equal(received.at(-1)?.text, 'm49');
      assert.equal((await socket.closed).code, 1001);
    },
  );

  test(
    'a peer that ignores the 1001 is cut at the deadline; new upgrades meanwhile get 503',
    T,
    async (t) => {
      const app = new App().ws('/', (socket) => socket.closed);
      const server = await app.listen({ port: 0 });
      t.after(() => server.close({ timeout: 100 }));
      const peer = await rawPeer(t, server.port, handshake('/'));
      assert.equal(peer.status, 101);
      const start = Date.now();
      const closing = server.close({ timeout: 700 });
      const late = net.connect(server.port, '127.0.0.1');
      late.on('error', () => {});
      const refused = await new Promise<string>((resolve) => {
        // The listening socket is closed at once; a late connect is refused by the kernel then.
        late.once('error', () => resolve('refused'));
        late.once('connect', () => resolve('connected'));
      });
      late.destroy();
      assert.equal(refused, 'refused');
      const frames = await within(peer.ended, 5_000, 'the cut');
      assert.equal(closeCodeIn(frames), 1001);
      await closing;
      assert.ok(Date.now() - start >= 600, 'waited for the deadline');
    },
  );

  test('an upgrade on an open keep-alive connection while closing gets 503', T, async (t) => {
    const app = new App().get('/', () => 'ok').ws('/ws', () => undefined);
    const server = await app.listen({ port: 0 });
    const socket = net.connect(server.port, '127.0.0.1');
    t.after(() => socket.destroy());
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    const closing = server.close({ timeout: 2_000 });
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.once('close', () => resolve(text));
    });
    socket.write(handshake('/ws'));
    assert.match(await within(answer, 5_000, 'the answer'), /^HTTP\/1\.1 503 /);
    await closing;
  });
});

test('a frame sent right behind the handshake (same packet) is not lost', T, async (t) => {
  const server = await serve(t, echoApp());
  const peer = await rawPeer(
    t,
    server.port,
    Buffer.concat([Buffer.from(handshake('/echo')), frame(0x1, 'early')]),
  );
  assert.equal(peer.status, 101);
  const data = await new Promise<Buffer>((resolve) => {
    if (peer.rest.length > 0) resolve(peer.rest);
    else peer.socket.once('data', resolve);
  });
  assert.equal(data.subarray(2).toString(), 'early');
});

test('many clients echo at once', T, async (t) => {
  const server = await serve(t, echoApp());
  const sockets: WebSocket[] = await Promise.all(
    Array.from({ length: 50 }, () => connect(t, server, '/echo')),
  );
  await Promise.all(
    sockets.map(async (socket, i) => {
      await socket.send(`n${i}`);
      assert.equal((await socket.receive())?.text, `n${i}`);
    }),
  );
});

test(
  'ws is loaded on the first upgrade, not when wirekit/server is imported or a ws route added',
  T,
  async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `
    import { createRequire } from 'node:module';
    import { App } from './src/server/index.ts';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/ws/'));
    const app = new App().ws('/', () => undefined);
    const before = loaded();
    const server = await app.listen({ port: 0 });
    const afterListen = loaded();
    const { connectWebSocket } = await import('./src/ws/index.ts');
    const socket = await connectWebSocket(server.url);
    await socket.closed;
    await server.close();
    console.log(JSON.stringify([before, afterListen, loaded()]));
  `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      timeout: 15_000,
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), [false, false, true]);
  },
);

test(
  'a client that leaves while middleware runs costs nothing: the upgrade is dropped, the server goes on',
  T,
  async (t) => {
    let reached = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = new App()
      .use(async (_ctx, next) => {
        await gate;
        return next();
      })
      .ws('/', () => {
        reached++;
      });
    const server = await serve(t, app);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(handshake('/'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(reached, 0);
    const peer = await rawPeer(t, server.port, handshake('/'));
    assert.equal(peer.status, 101);
    await within(server.close({ timeout: 2_000 }), 3_000, 'server.close()');
  },
);
