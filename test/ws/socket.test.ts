import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocket as RawWs } from 'ws';
import { ConcurrentReadError, WebSocketClosedError } from '../../src/errors.js';
import { App } from '../../src/server/index.js';
import type { CloseInfo, Message, WebSocket } from '../../src/ws/index.js';
import { stateAfter } from '../net/tcp-helpers.js';
import { connect, handshake, rawPeer, serve, within } from './helpers.js';

const T = { timeout: 20_000 };

/** A promise and its resolve, for a handler to hand something to the test. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** A raw ws client (the peer under the test's control), terminated when the test ends. */
async function rawClient(
  t: { after(fn: () => void): void },
  port: number,
  path: string,
  options: ConstructorParameters<typeof RawWs>[2] = {},
): Promise<RawWs> {
  const client = new RawWs(`ws://127.0.0.1:${port}${path}`, options);
  t.after(() => client.terminate());
  await new Promise<void>((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  return client;
}

/** What a handler's iteration ended with: the messages, and the error if it threw. */
async function drain(socket: WebSocket): Promise<{ messages: Message[]; error: unknown }> {
  const messages: Message[] = [];
  try {
    for await (const message of socket) messages.push(message);
    return { messages, error: undefined };
  } catch (error) {
    return { messages, error };
  }
}

describe('reading', () => {
  test(
    'iteration yields text and binary messages in order; text decodes once, binary stays bytes',
    T,
    async (t) => {
      const seen = deferred<{ messages: Message[]; error: unknown }>();
      const server = await serve(
        t,
        new App().ws('/', async (socket) => seen.resolve(await drain(socket))),
      );
      const client = await rawClient(t, server.port, '/');
      client.send('héllo');
      client.send(Buffer.from([0, 1, 255]));
      client.send('{"a":1}');
      client.close(1000);
      const { messages, error } = await within(seen.promise, 5_000, 'the handler');
      assert.equal(error, undefined);
      assert.deepEqual(
        messages.map((m) => m.type),
        ['text', 'binary', 'text'],
      );
      const [text, binary, json] = messages as [Message, Message, Message];
      assert.equal(text.text, 'héllo');
      assert.equal(text.text, text.text);
      assert.deepEqual(binary.data, Buffer.from([0, 1, 255]));
      assert.deepEqual(json.json(), { a: 1 });
    },
  );

  test('messages sent just before a close are all read after it', T, async (t) => {
    const seen = deferred<{ messages: Message[]; error: unknown; info: CloseInfo }>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => {
        const info = await socket.closed;
        seen.resolve({ ...(await drain(socket)), info });
      }),
    );
    const client = await rawClient(t, server.port, '/');
    for (let i = 0; i < 5; i++) client.send(`m${i}`);
    client.close(1000, 'bye');
    const { messages, error, info } = await within(seen.promise, 5_000, 'the handler');
    assert.deepEqual(
      messages.map((m) => m.text),
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    );
    assert.equal(error, undefined);
    assert.deepEqual(info, { code: 1000, reason: 'bye', wasClean: true });
  });

  for (const code of [1000, 1001, undefined]) {
    test(`iteration ends quietly when the peer closes with ${code ?? 'no code (1005)'}`, T, async (t) => {
      const seen = deferred<{ messages: Message[]; error: unknown }>();
      const server = await serve(
        t,
        new App().ws('/', async (socket) => seen.resolve(await drain(socket))),
      );
      const client = await rawClient(t, server.port, '/');
      client.send('x');
      client.close(code);
      const { messages, error } = await within(seen.promise, 5_000, 'the handler');
      assert.equal(messages.length, 1);
      assert.equal(error, undefined);
    });
  }

  test('iteration throws WebSocketClosedError with the code after a 4000 close', T, async (t) => {
    const seen = deferred<{ messages: Message[]; error: unknown }>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => seen.resolve(await drain(socket))),
    );
    const client = await rawClient(t, server.port, '/');
    client.send('kept');
    client.close(4000, 'app says no');
    const { messages, error } = await within(seen.promise, 5_000, 'the handler');
    assert.equal(messages[0]?.text, 'kept');
    assert.ok(error instanceof WebSocketClosedError);
    assert.equal(error.closeCode, 4000);
    assert.equal(error.reason, 'app says no');
  });

  test('iteration throws WebSocketClosedError 1006 when the connection drops', T, async (t) => {
    const seen = deferred<{ messages: Message[]; error: unknown }>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => seen.resolve(await drain(socket))),
    );
    const client = await rawClient(t, server.port, '/');
    client.terminate();
    const { error } = await within(seen.promise, 5_000, 'the handler');
    assert.ok(error instanceof WebSocketClosedError);
    assert.equal(error.closeCode, 1006);
  });

  test('a second receive() while one waits rejects with ConcurrentReadError', T, async (t) => {
    const seen = deferred<unknown>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => {
        const first = socket.receive();
        seen.resolve(await socket.receive().catch((e: unknown) => e));
        assert.equal((await first)?.text, 'one');
      }),
    );
    const client = await rawClient(t, server.port, '/');
    assert.ok((await within(seen.promise, 5_000, 'the handler')) instanceof ConcurrentReadError);
    client.send('one');
  });

  test(
    'reading pauses past receiveHighWaterMark (the sender sees TCP backpressure) and resumes as messages are read',
    T,
    async (t) => {
      const go = deferred<void>();
      const seen = deferred<{ messages: Message[]; error: unknown }>();
      const server = await serve(
        t,
        new App().ws('/', { receiveHighWaterMark: 4, maxPayload: 1 << 20 }, async (socket) => {
          await go.promise;
          seen.resolve(await drain(socket));
        }),
      );
      const client = await rawClient(t, server.port, '/');
      const chunk = Buffer.alloc(256 * 1024, 7);
      const count = 160;
      for (let i = 0; i < count; i++) {
        chunk.writeUInt32BE(i, 0);
        client.send(Buffer.from(chunk));
      }
      // Unpaused, the server would read all 40 MiB into memory and the client's buffer would drain.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(
        client.bufferedAmount > 4 * 1024 * 1024,
        `client still buffers ${client.bufferedAmount} bytes`,
      );
      go.resolve();
      client.close(1000);
      const { messages, error } = await within(seen.promise, 15_000, 'reading every message');
      assert.equal(error, undefined);
      assert.equal(messages.length, count);
      assert.deepEqual(
        messages.map((m) => m.data.readUInt32BE(0)),
        Array.from({ length: count }, (_, i) => i),
      );
    },
  );
});

describe('writing', () => {
  test(
    'send() resolves at once under sendHighWaterMark and waits for the write once past it',
    T,
    async (t) => {
      const report = deferred<{
        immediate: string;
        pendingAt: number;
        buffered: number;
        later: Promise<void>;
      }>();
      const server = await serve(
        t,
        new App().ws('/', { sendHighWaterMark: 16 * 1024 }, async (socket) => {
          const immediate = await stateAfter(socket.send('small'), 0);
          const big = Buffer.alloc(256 * 1024);
          for (let i = 1; i < 400; i++) {
            const sent = socket.send(big);
            if ((await stateAfter(sent, 20)) === 'pending') {
              report.resolve({ immediate, pendingAt: i, buffered: socket.bufferedAmount, later: sent });
              await sent;
              return socket.closed;
            }
          }
          report.resolve({ immediate, pendingAt: -1, buffered: 0, later: Promise.resolve() });
        }),
      );
      const client = await rawClient(t, server.port, '/');
      client.pause();
      const { immediate, pendingAt, buffered, later } = await within(report.promise, 10_000, 'the sends');
      assert.equal(immediate, 'resolved');
      assert.ok(pendingAt > 0, 'a send waited once the peer stopped reading');
      assert.ok(buffered > 16 * 1024);
      client.resume();
      await within(later, 10_000, 'the waiting send once the peer reads');
      client.close();
    },
  );

  test('send() after the close rejects with WebSocketClosedError carrying the close code', T, async (t) => {
    const seen = deferred<unknown>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => {
        await socket.closed;
        seen.resolve(await socket.send('late').catch((e: unknown) => e));
      }),
    );
    const client = await rawClient(t, server.port, '/');
    client.close(4001, 'gone');
    const err = await within(seen.promise, 5_000, 'the send');
    assert.ok(err instanceof WebSocketClosedError);
    assert.equal(err.closeCode, 4001);
    assert.equal(err.code, 'WK_ERR_WEBSOCKET_CLOSED');
  });

  test('send() of a received Message echoes it with its type, bytes untouched', T, async (t) => {
    const server = await serve(
      t,
      new App().ws('/', async (socket) => {
        for await (const message of socket) await socket.send(message);
      }),
    );
    const socket = await connect(t, server, '/');
    await socket.send(Buffer.from([1, 2]));
    await socket.send('two');
    const one = (await socket.receive()) as Message;
    const two = (await socket.receive()) as Message;
    assert.deepEqual([one.type, [...one.data]], ['binary', [1, 2]]);
    assert.deepEqual([two.type, two.text], ['text', 'two']);
  });
});

describe('closing', () => {
  test('close(code, reason) reaches the peer and resolves once closed', T, async (t) => {
    const closed = deferred<CloseInfo>();
    const server = await serve(
      t,
      new App().ws('/', async (socket) => {
        closed.resolve(await socket.close(4000, 'done'));
      }),
    );
    const client = await rawClient(t, server.port, '/');
    const [code, reason] = await within(
      new Promise<[number, string]>((resolve) => client.once('close', (c, r) => resolve([c, r.toString()]))),
      5_000,
      'the close',
    );
    assert.deepEqual([code, reason], [4000, 'done']);
    assert.equal((await within(closed.promise, 5_000, 'close()')).code, 4000);
  });

  test('close() cuts the connection after closeTimeout when the peer never answers', T, async (t) => {
    const closed = deferred<{ info: CloseInfo; ms: number }>();
    const server = await serve(
      t,
      new App().ws('/', { closeTimeout: 300 }, async (socket) => {
        const start = Date.now();
        const info = await socket.close(1000);
        closed.resolve({ info, ms: Date.now() - start });
      }),
    );
    // A peer that completes the handshake and then reads nothing and answers nothing.
    const peer = await rawPeer(t, server.port, handshake('/'));
    assert.equal(peer.status, 101);
    const { info, ms } = await within(closed.promise, 5_000, 'close()');
    assert.equal(info.code, 1006);
    assert.equal(info.wasClean, false);
    assert.ok(ms >= 250 && ms < 3_000, `cut after ${ms} ms`);
  });

  test('close() rejects a code an endpoint may not send', T, async (t) => {
    const seen = deferred<unknown>();
    const server = await serve(
      t,
      new App().ws('/', (socket) => {
        try {
          void socket.close(1006);
        } catch (err) {
          seen.resolve(err);
        }
      }),
    );
    await rawClient(t, server.port, '/');
    assert.ok((await within(seen.promise, 5_000, 'close()')) instanceof RangeError);
  });
});

describe('ping and heartbeat', () => {
  test('ping() resolves with the round trip in milliseconds', T, async (t) => {
    const server = await serve(
      t,
      new App().ws('/', (socket) => socket.closed),
    );
    const socket = await connect(t, server, '/');
    const [a, b] = await Promise.all([socket.ping(), socket.ping()]);
    for (const ms of [a, b]) assert.ok(typeof ms === 'number' && ms >= 0 && ms < 5_000, String(ms));
  });

  test(
    'the heartbeat terminates a peer that stops answering pings (1006), and keeps one that answers',
    T,
    async (t) => {
      const infos: CloseInfo[] = [];
      const server = await serve(
        t,
        new App().ws('/', { heartbeat: 100 }, async (socket) => {
          infos.push(await socket.closed);
        }),
      );
      const silent = await rawClient(t, server.port, '/', { autoPong: false });
      const alive = await rawClient(t, server.port, '/');
      const start = Date.now();
      await within(
        new Promise((resolve) => silent.once('close', resolve)),
        3_000,
        'the silent peer being cut',
      );
      assert.ok(Date.now() - start < 1_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(alive.readyState, RawWs.OPEN);
      assert.equal(infos.length, 1);
      assert.equal(infos[0]?.code, 1006);
      assert.match(infos[0]?.reason ?? '', /stopped answering pings/);
    },
  );
});

test('heartbeats share one timer per period, however many sockets use it', T, async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
  const server = await serve(
    t,
    new App().ws('/', { heartbeat: 45_678 }, (socket) => socket.closed),
  );
  const before = timers();
  const sockets = await Promise.all(Array.from({ length: 20 }, () => connect(t, server, '/')));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(timers() - before <= 1, `${timers() - before} new timers for 20 sockets`);
  await Promise.all(sockets.map((socket) => socket.close()));
});

test('getters: protocol, remoteAddress, readyState, bufferedAmount, extensions', T, async (t) => {
  const seen = deferred<Record<string, unknown>>();
  const server = await serve(
    t,
    new App().ws('/', { protocols: ['chat'] }, async (socket) => {
      seen.resolve({
        protocol: socket.protocol,
        remoteAddress: socket.remoteAddress,
        readyState: socket.readyState,
        bufferedAmount: socket.bufferedAmount,
        extensions: socket.extensions,
      });
      await socket.closed;
    }),
  );
  const socket = await connect(t, server, '/', { protocols: ['chat'] });
  assert.deepEqual(await within(seen.promise, 5_000, 'the handler'), {
    protocol: 'chat',
    remoteAddress: '127.0.0.1',
    readyState: 'open',
    bufferedAmount: 0,
    extensions: '',
  });
  assert.equal(socket.protocol, 'chat');
  await socket.close();
  assert.equal(socket.readyState, 'closed');
});
