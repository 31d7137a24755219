/**
 * Bad input against a wirekit WebSocket server, written as raw frames over node:net: each attack
 * gets the close code RFC 6455 names, what arrived before it is still delivered, and the server
 * goes on serving.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { WebSocketClosedError } from '../../src/errors.js';
import { App, type AppServer } from '../../src/server/index.js';
import type { Message, WebSocketRouteOptions } from '../../src/ws/index.js';
import {
  closeCodeIn,
  closePayload,
  connect,
  frame,
  handshake,
  parseFrames,
  rawPeer,
  serve,
  within,
} from './helpers.js';

const T = { timeout: 30_000 };
const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;

interface Outcome {
  messages: string[];
  error: unknown;
}

/** A server whose /t route records what its handler read; /echo proves it still serves. */
async function target(t: TestContext, options: WebSocketRouteOptions = {}) {
  const outcomes: Outcome[] = [];
  let notify: (() => void) | undefined;
  const app = new App()
    .ws('/t', options, async (socket) => {
      const messages: string[] = [];
      let error: unknown;
      try {
        for await (const message of socket)
          messages.push(message.type === 'text' ? message.text : `<${message.data.length} bytes>`);
      } catch (err) {
        error = err;
      }
      outcomes.push({ messages, error });
      notify?.();
    })
    .ws('/echo', async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
  const server = await serve(t, app);
  const outcome = () =>
    outcomes.length > 0
      ? Promise.resolve(outcomes[0] as Outcome)
      : within(
          new Promise<Outcome>((resolve) => (notify = () => resolve(outcomes[0] as Outcome))),
          10_000,
          'the handler',
        );
  return { server, outcome };
}

/** Opens /t by hand, sends `frames`, and returns the server's close code once it closed the connection. */
async function attack(t: TestContext, server: AppServer, ...frames: Buffer[]): Promise<number | undefined> {
  const peer = await rawPeer(t, server.port, handshake('/t'));
  assert.equal(peer.status, 101);
  for (const f of frames) peer.socket.write(f);
  const data = Buffer.concat([peer.rest, await within(peer.ended, 10_000, 'the server closing')]);
  return closeCodeIn(data);
}

/** The server still echoes over a fresh connection. */
async function stillServes(t: TestContext, server: AppServer): Promise<void> {
  const socket = await connect(t, server, '/echo');
  await socket.send('alive?');
  assert.equal((await socket.receive())?.text, 'alive?');
  await socket.close();
}

function assertClosedWith(outcome: Outcome, code: number): void {
  assert.ok(outcome.error instanceof WebSocketClosedError, `iteration threw ${String(outcome.error)}`);
  assert.equal(outcome.error.closeCode, code);
}

describe('limits', () => {
  test(
    'a message past maxPayload (1 MiB by default) closes with 1009; one of exactly 1 MiB passes',
    T,
    async (t) => {
      const { server, outcome } = await target(t);
      const peer = await rawPeer(t, server.port, handshake('/t'));
      peer.socket.write(frame(BINARY, Buffer.alloc(1024 * 1024)));
      peer.socket.write(frame(BINARY, Buffer.alloc(1024 * 1024 + 1)));
      assert.equal(closeCodeIn(await within(peer.ended, 10_000, 'the close')), 1009);
      const result = await outcome();
      assert.deepEqual(result.messages, ['<1048576 bytes>']);
      assertClosedWith(result, 1009);
      await stillServes(t, server);
    },
  );

  test(
    'a message split into more than maxFragments (100) frames closes with 1008; 100 pass',
    T,
    async (t) => {
      const { server, outcome } = await target(t);
      const fragments = (n: number) => [
        frame(TEXT, 'a', { fin: false }),
        ...Array.from({ length: n - 2 }, () => frame(CONTINUATION, 'b', { fin: false })),
        frame(CONTINUATION, 'c'),
      ];
      const flood = [
        frame(TEXT, 'x', { fin: false }),
        ...Array.from({ length: 5_000 }, () => frame(CONTINUATION, 'y', { fin: false })),
      ];
      const start = Date.now();
      assert.equal(await attack(t, server, Buffer.concat([...fragments(100), ...flood])), 1008);
      assert.ok(Date.now() - start < 5_000);
      const result = await outcome();
      assert.deepEqual(result.messages, [`a${'b'.repeat(98)}c`]);
      assertClosedWith(result, 1008);
      await stillServes(t, server);
    },
  );

  test('maxPayload and maxFragments are per route', T, async (t) => {
    const { server, outcome } = await target(t, { maxPayload: 10, maxFragments: 3 });
    assert.equal(await attack(t, server, frame(TEXT, '12345678901')), 1009);
    assertClosedWith(await outcome(), 1009);
  });
});

describe('malformed frames', () => {
  test('invalid UTF-8 in a text message closes with 1007, after the messages before it', T, async (t) => {
    const { server, outcome } = await target(t);
    const code = await attack(
      t,
      server,
      frame(TEXT, 'ok1'),
      frame(TEXT, 'ok2'),
      frame(TEXT, Buffer.from([0xc3, 0x28])),
    );
    assert.equal(code, 1007);
    const result = await outcome();
    assert.deepEqual(result.messages, ['ok1', 'ok2']);
    assertClosedWith(result, 1007);
    await stillServes(t, server);
  });

  test('an unmasked client frame closes with 1002', T, async (t) => {
    const { server, outcome } = await target(t);
    assert.equal(await attack(t, server, frame(TEXT, 'ok'), frame(TEXT, 'naked', { mask: false })), 1002);
    const result = await outcome();
    assert.deepEqual(result.messages, ['ok']);
    assertClosedWith(result, 1002);
  });

  test('RSV bits without a negotiated extension close with 1002', T, async (t) => {
    const { server, outcome } = await target(t);
    assert.equal(await attack(t, server, frame(TEXT, 'compressed?', { rsv: 0b100 })), 1002);
    assertClosedWith(await outcome(), 1002);
    const { server: other } = await target(t);
    assert.equal(await attack(t, other, frame(TEXT, 'x', { rsv: 0b011 })), 1002);
    await stillServes(t, other);
  });

  test(
    'an unknown opcode, a fragmented ping and a continuation without a start close with 1002',
    T,
    async (t) => {
      for (const bad of [frame(0x3, 'x'), frame(0x9, 'p', { fin: false }), frame(CONTINUATION, 'x')]) {
        const { server } = await target(t);
        assert.equal(await attack(t, server, bad), 1002);
      }
    },
  );

  test('a close frame from the client is answered and iteration ends quietly', T, async (t) => {
    const { server, outcome } = await target(t);
    const peer = await rawPeer(t, server.port, handshake('/t'));
    peer.socket.write(frame(TEXT, 'last'));
    peer.socket.write(frame(0x8, closePayload(1000, 'bye')));
    const frames = parseFrames(await within(peer.ended, 5_000, 'the close'));
    assert.equal(frames.at(-1)?.opcode, 0x8);
    assert.deepEqual(await outcome(), { messages: ['last'], error: undefined });
  });
});

describe('handshake abuse', () => {
  for (const [name, value] of [
    ['commas and spaces', `a${', '.repeat(7_000)}`],
    ['spaces then a token', `${' '.repeat(14_000)}a`],
    ['a token, then spaces and a comma', `a${' '.repeat(14_000)},`],
  ] as const) {
    test(`a long Sec-WebSocket-Protocol of ${name} is answered in bounded time`, T, async (t) => {
      const app = new App().ws('/t', { protocols: ['a'] }, (socket) => socket.send(socket.protocol));
      const server = await serve(t, app);
      const start = process.hrtime.bigint();
      const peer = await rawPeer(t, server.port, handshake('/t', `Sec-WebSocket-Protocol: ${value}\r\n`));
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      assert.ok(ms < 1_000, `answered after ${ms} ms`);
      assert.ok([101, 400].includes(peer.status), String(peer.status));
      await stillServesEcho(t, app, server);
    });
  }

  test('thousands of headers: within the head limit the server goes on; past it, 431', T, async (t) => {
    const app = new App().ws('/t', (socket) => socket.send('in'));
    const server = await serve(t, app);
    const many = Array.from({ length: 2_500 }, (_, i) => `x${i}:1\r\n`).join('');
    const fits = await rawPeer(t, server.port, handshake('/t', many));
    assert.equal(fits.status, 101);
    const huge = Array.from({ length: 5_000 }, (_, i) => `x${i}:1\r\n`).join('');
    const refused = await rawPeer(t, server.port, handshake('/t', huge));
    assert.equal(refused.status, 431);
    const socket = await connect(t, server, '/t');
    assert.equal((await socket.receive())?.text, 'in');
  });

  test('a forbidden origin gets 403 and no WebSocket', T, async (t) => {
    let opened = 0;
    const app = new App().ws('/t', { origins: ['https://app.example'] }, () => {
      opened++;
    });
    const server = await serve(t, app);
    const peer = await rawPeer(t, server.port, handshake('/t', 'Origin: https://evil.example\r\n'));
    assert.equal(peer.status, 403);
    await within(peer.ended, 5_000, 'the close');
    assert.equal(opened, 0);
  });

  test('a handshake that stops half-way is closed by the headers timeout', T, async (t) => {
    const app = new App().ws('/t', () => undefined);
    const server = await serve(t, app, { headersTimeout: 400, requestTimeout: 800 });
    const peer = net.connect(server.port, '127.0.0.1');
    peer.on('error', () => {});
    t.after(() => peer.destroy());
    let answer = '';
    peer.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    peer.write('GET /t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    await within(new Promise((resolve) => peer.once('close', resolve)), 5_000, 'the cut');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });
});

/** The server that `app` runs still answers a WebSocket client (any route of it). */
async function stillServesEcho(t: TestContext, _app: App, server: AppServer): Promise<void> {
  const socket = await connect(t, server, '/t', { protocols: ['a'] });
  const message = (await socket.receive()) as Message;
  assert.equal(message.text, 'a');
}
