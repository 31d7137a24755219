import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { WebSocketServer } from 'ws';
import {
  AbortError,
  ConnectError,
  ProxyError,
  TimeoutError,
  WebSocketClosedError,
  WebSocketHandshakeError,
} from '../../src/errors.js';
import { Session } from '../../src/client/index.js';
import { App } from '../../src/server/index.js';
import { connectWebSocket } from '../../src/ws/index.js';
import { tlsFixture } from '../helpers.js';
import { echoApp, serve, within } from './helpers.js';

const T = { timeout: 20_000 };

/** A TCP server on port 0 that runs `onConnection`; closed when the test ends. */
async function tcpServer(t: TestContext, onConnection: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

/** A CONNECT proxy that records each request head; `answer` other than 200 refuses. */
async function connectProxy(t: TestContext, answer = 200): Promise<{ port: number; heads: string[] }> {
  const heads: string[] = [];
  const port = await tcpServer(t, (client) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const head = buffered.toString('latin1', 0, end);
      heads.push(head);
      if (answer !== 200) {
        client.end(`HTTP/1.1 ${answer} No\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const [host, port] = (head.split(' ')[1] as string).split(':');
      const upstream = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host);
      upstream.on('error', () => client.destroy());
      upstream.once('connect', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        const rest = buffered.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream).pipe(client);
      });
      client.once('close', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  return { port, heads };
}

describe('connectWebSocket failures', () => {
  test('a refused connection is a ConnectError with the system code', T, async (t) => {
    const port = await tcpServer(t, () => {});
    const free = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    assert.notEqual(free, port);
    const err = await connectWebSocket(`ws://127.0.0.1:${free}/`).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.systemCode, 'ECONNREFUSED');
  });

  test('a server that never answers the handshake is a TimeoutError in phase connect', T, async (t) => {
    const port = await tcpServer(t, () => {});
    const start = Date.now();
    const err = await connectWebSocket(`ws://127.0.0.1:${port}/`, { timeout: 200 }).catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.phase, 'connect');
    assert.ok(Date.now() - start < 2_000);
  });

  test(
    'the signal cancels a pending handshake with AbortError; an aborted signal fails at once',
    T,
    async (t) => {
      const port = await tcpServer(t, () => {});
      const controller = new AbortController();
      const pending = connectWebSocket(`ws://127.0.0.1:${port}/`, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('stop')), 50);
      const err = await pending.catch((e: unknown) => e);
      assert.ok(err instanceof AbortError, String(err));
      assert.equal((err.cause as Error).message, 'stop');
      await assert.rejects(
        connectWebSocket(`ws://127.0.0.1:${port}/`, { signal: AbortSignal.abort() }),
        AbortError,
      );
    },
  );

  test(
    'an HTTP status instead of 101 is a WebSocketHandshakeError with the status and headers',
    T,
    async (t) => {
      const server = await serve(t, echoApp());
      const err = await connectWebSocket(`ws://127.0.0.1:${server.port}/missing`).catch((e: unknown) => e);
      assert.ok(err instanceof WebSocketHandshakeError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'WK_ERR_WEBSOCKET_HANDSHAKE');
      assert.match(String(err.headers['content-type']), /^(text|application)\//);
    },
  );

  test('an invalid 101 (wrong Sec-WebSocket-Accept) is a WebSocketHandshakeError', T, async (t) => {
    const port = await tcpServer(t, (socket) => {
      socket.once('data', () =>
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n',
        ),
      );
    });
    const err = await connectWebSocket(`ws://127.0.0.1:${port}/`).catch((e: unknown) => e);
    assert.ok(err instanceof WebSocketHandshakeError, String(err));
    assert.match(err.message, /Sec-WebSocket-Accept/);
  });

  test('bad arguments are a TypeError or RangeError before any connection', async () => {
    await assert.rejects(connectWebSocket('ftp://x/'), TypeError);
    await assert.rejects(connectWebSocket('ws://x/', { maxPayload: 0 }), RangeError);
    await assert.rejects(connectWebSocket('ws://x/\r\n'), TypeError);
  });
});

describe('connectWebSocket', () => {
  test('headers and protocols go with the handshake; http: URLs are taken as ws:', T, async (t) => {
    const app = new App().ws('/', { protocols: ['p1'] }, (socket, ctx) =>
      socket.send(`${String(ctx.headers['x-token'])} ${socket.protocol}`),
    );
    const server = await serve(t, app);
    const socket = await connectWebSocket(`http://127.0.0.1:${server.port}/`, {
      headers: { 'x-token': 't1' },
      protocols: ['p0', 'p1'],
    });
    t.after(() => socket.terminate());
    assert.equal((await socket.receive())?.text, 't1 p1');
  });

  test('a message past the client maxPayload closes with 1009: iteration throws it', T, async (t) => {
    const app = new App().ws('/', async (socket) => {
      await socket.send('small');
      await socket.send('x'.repeat(2048));
      await socket.closed;
    });
    const server = await serve(t, app);
    const socket = await connectWebSocket(`ws://127.0.0.1:${server.port}/`, { maxPayload: 1024 });
    assert.equal((await socket.receive())?.text, 'small');
    const err = await socket.receive().catch((e: unknown) => e);
    assert.ok(err instanceof WebSocketClosedError, String(err));
    assert.equal(err.closeCode, 1009);
  });

  test('the client heartbeat terminates a server that stops answering pings', T, async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false });
    t.after(() => wss.close());
    await new Promise((resolve) => wss.once('listening', resolve));
    const { port } = wss.address() as net.AddressInfo;
    const socket = await connectWebSocket(`ws://127.0.0.1:${port}/`, { heartbeat: 100 });
    const info = await within(socket.closed, 3_000, 'the cut');
    assert.equal(info.code, 1006);
  });
});

describe('session.ws()', () => {
  test(
    'sends the session default headers and cookies, stores the handshake Set-Cookie, resolves against baseUrl',
    T,
    async (t) => {
      const app = new App()
        .get('/login', (ctx) => {
          ctx.cookies.set('sid', 's1');
          return 'ok';
        })
        .use((ctx, next) => {
          if (ctx.path === '/ws') ctx.cookies.set('seen', String(Number(ctx.cookies.get('seen') ?? 0) + 1));
          return next();
        })
        .ws('/ws', (socket, ctx) =>
          socket.send(
            JSON.stringify({
              cookie: ctx.headers.cookie,
              agent: ctx.headers['user-agent'],
              x: ctx.headers['x-app'],
            }),
          ),
        );
      const server = await serve(t, app);
      const session = new Session({ baseUrl: server.url, headers: { 'x-app': 'demo' } });
      t.after(() => session.close());
      await (await session.get('/login')).text();
      const first = await session.ws('/ws');
      const one = (await first.receive())?.json() as Record<string, string>;
      assert.equal(one.cookie, 'sid=s1');
      assert.match(one.agent ?? '', /^wirekit\//);
      assert.equal(one.x, 'demo');
      const second = await session.ws('/ws');
      const two = (await second.receive())?.json() as Record<string, string>;
      assert.match(two.cookie ?? '', /sid=s1/);
      assert.match(two.cookie ?? '', /seen=1/);
      await first.close();
      await second.close();
    },
  );

  test('goes through the session proxy with a CONNECT tunnel (ws: and wss:)', T, async (t) => {
    const plain = await serve(t, echoApp());
    const secure = await serve(t, echoApp(), { tls: tlsFixture });
    const proxy = await connectProxy(t);
    const session = new Session({
      proxy: `http://user:pw@127.0.0.1:${proxy.port}`,
      tls: { ca: tlsFixture.cert },
    });
    t.after(() => session.close());
    for (const url of [`ws://127.0.0.1:${plain.port}/echo`, `wss://localhost:${secure.port}/echo`]) {
      const socket = await session.ws(url);
      await socket.send('via proxy');
      assert.equal((await socket.receive())?.text, 'via proxy');
      await socket.close();
    }
    assert.equal(proxy.heads.length, 2);
    assert.match(proxy.heads[0] ?? '', new RegExp(`^CONNECT 127\\.0\\.0\\.1:${plain.port} HTTP/1\\.1\\r\\n`));
    assert.match(proxy.heads[0] ?? '', /\r\nProxy-Authorization: Basic dXNlcjpwdw==/);
    assert.match(proxy.heads[1] ?? '', new RegExp(`^CONNECT localhost:${secure.port} `));
  });

  test('a proxy that refuses the tunnel is a ProxyError with its status', T, async (t) => {
    const server = await serve(t, echoApp());
    const proxy = await connectProxy(t, 407);
    const err = await connectWebSocket(`ws://127.0.0.1:${server.port}/echo`, {
      proxy: `http://127.0.0.1:${proxy.port}`,
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ProxyError, String(err));
    assert.equal(err.status, 407);
  });
});
