import assert from 'node:assert/strict';
import * as net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import * as tls from 'node:tls';
import {
  AbortError,
  ConcurrentReadError,
  ConnectError,
  SocketError,
  StreamClosedError,
  TimeoutError,
} from '../../src/errors.js';
import { connect, listen, type Server, Stream } from '../../src/net/index.js';
import { hasIpv6, needPeer, sleep, tlsFixture } from '../helpers.js';
import { socketPair, spawnPeer, stateAfter, streamAndPeer, within } from './tcp-helpers.js';

const T = { timeout: 20_000 };
const ca = tlsFixture.cert;
const serverTls = { key: tlsFixture.key, cert: tlsFixture.cert };

/** A TLS server answering each line with `tls:<line>`; it records the SNI each client sent. */
async function tlsEchoServer(t: TestContext, host = '127.0.0.1'): Promise<Server & { names: unknown[] }> {
  const names: unknown[] = [];
  const server = await listen({ host, tls: serverTls }, async (conn) => {
    names.push((conn.socket as tls.TLSSocket).servername);
    for await (const line of conn.lines()) await conn.write(`tls:${line}\n`);
  });
  t.after(() => server.close({ timeout: 100 }));
  return Object.assign(server, { names });
}

/** A plain TCP server that accepts and never says a word (a TLS client waits forever). */
async function silentServer(t: TestContext): Promise<Server> {
  const server = await listen({}, async (conn) => {
    await conn.readAll().catch(() => {});
  });
  t.after(() => server.close({ timeout: 100 }));
  return server;
}

function closeAfter(t: TestContext, stream: Stream): Stream {
  t.after(() => stream.abort());
  return stream;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}

describe('connect with tls', () => {
  test('connect({ tls: { ca } }) to listen({ tls }) by name sends the name as SNI', T, async (t) => {
    const server = await tlsEchoServer(t);
    const conn = closeAfter(t, await connect('localhost', server.address.port, { tls: { ca } }));
    assert.equal(conn.encrypted, true);
    await conn.write('secret\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:secret');
    assert.deepEqual(server.names, ['localhost']);
  });

  test('connect by IP address verifies the certificate against its IP SAN', T, async (t) => {
    const server = await tlsEchoServer(t);
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port, { tls: { ca } }));
    await conn.write('ip\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:ip');
    // No SNI for an IP literal (RFC 6066 forbids it).
    assert.deepEqual(server.names, [false]);
  });

  test('connect with tls over IPv6 ::1', { ...T, skip: !hasIpv6 && 'no IPv6 loopback' }, async (t) => {
    const server = await tlsEchoServer(t, '::1');
    const conn = closeAfter(t, await connect('::1', server.address.port, { tls: { ca } }));
    await conn.write('six\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:six');
  });

  test('an explicit servername is sent and checked against the certificate', T, async (t) => {
    const server = await tlsEchoServer(t);
    const ok = closeAfter(
      t,
      await connect('127.0.0.1', server.address.port, { tls: { ca, servername: 'localhost' } }),
    );
    await ok.write('n\n');
    assert.equal(await within(ok.readLine(), 5_000, 'reply'), 'tls:n');
    assert.deepEqual(server.names, ['localhost']);
    const err = await connect('127.0.0.1', server.address.port, {
      tls: { ca, servername: 'example.com' },
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.systemCode, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  test('an untrusted certificate rejects with ConnectError and the server goes on', T, async (t) => {
    const server = await tlsEchoServer(t);
    const err = await within(
      connect('localhost', server.address.port, { tls: true }),
      5_000,
      'connect',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, 'WK_ERR_CONNECT');
    assert.equal(err.systemCode, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    const conn = closeAfter(t, await connect('localhost', server.address.port, { tls: { ca } }));
    await conn.write('next\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:next');
  });

  test('a TLS handshake that gets no answer rejects with TimeoutError in phase tls', T, async (t) => {
    const server = await silentServer(t);
    const started = Date.now();
    const err = await within(
      connect('127.0.0.1', server.address.port, { tls: { ca }, timeout: 500 }),
      10_000,
      'connect',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.phase, 'tls');
    assert.equal(err.timeout, 500);
    assert.ok(Date.now() - started >= 450);
    // The half-made connection is not left behind.
    await within(
      waitFor(() => server.connections === 0),
      5_000,
      'server sees the connection go',
    );
  });

  // Regression: the TLS phase got the whole timeout again instead of what the connect left.
  test('timeout covers connect and TLS handshake together', { timeout: 30_000 }, async (t) => {
    if (!needPeer(t, 'python3')) return;
    // A listener whose full queue stalls our SYN until it is told to start accepting; then it
    // holds the connections and never speaks TLS.
    const peer = spawnPeer(t, 'python3', [
      '-c',
      [
        'import socket, sys',
        's = socket.socket()',
        "s.bind(('127.0.0.1', 0))",
        's.listen(0)',
        'print(s.getsockname()[1], flush=True)',
        'sys.stdin.readline()',
        'held = []',
        'while True:',
        '    held.append(s.accept()[0])',
      ].join('\n'),
    ]);
    const port = Number(await peer.line());
    const fillers: net.Socket[] = [];
    t.after(() => {
      for (const socket of fillers) socket.destroy();
    });
    for (let i = 0; ; i++) {
      assert.ok(i < 64, 'could not fill the accept queue');
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.on('error', () => {});
      fillers.push(socket);
      const state = await stateAfter(new Promise((resolve) => socket.once('connect', resolve)), 1_000);
      if (state === 'pending') break;
    }
    const started = Date.now();
    // The SYN goes unanswered until a retransmission after the queue drains (so the connect
    // phase takes 1.5 s or more), then TLS never completes.
    setTimeout(() => peer.child.stdin.write('accept\n'), 1_500);
    const err = await within(
      connect('127.0.0.1', port, { tls: { ca }, timeout: 4_000 }),
      15_000,
      'connect',
    ).catch((e: unknown) => e);
    const took = Date.now() - started;
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.phase, 'tls');
    assert.ok(took >= 3_900, `gave up after ${took} ms`);
    // A handshake given a fresh 4 s would give up at 5.5 s at the earliest.
    assert.ok(took < 5_000, `gave up after ${took} ms: the handshake got a fresh timeout`);
  });

  test('aborting the signal during the TLS handshake rejects with AbortError', T, async (t) => {
    const server = await silentServer(t);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const err = await within(
      connect('127.0.0.1', server.address.port, { tls: { ca }, signal: controller.signal }),
      5_000,
      'connect',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof AbortError, String(err));
    await within(
      waitFor(() => server.connections === 0),
      5_000,
      'server sees the connection go',
    );
  });
});

describe('listen with tls', () => {
  test('a plain-text client to a TLS server is dropped and the server goes on', T, async (t) => {
    const server = await tlsEchoServer(t);
    const plain = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await plain.write('GET / HTTP/1.0\r\n\r\n');
    await within(
      plain.readAll().catch(() => Buffer.alloc(0)),
      5_000,
      'plain client dropped',
    );
    const conn = closeAfter(t, await connect('localhost', server.address.port, { tls: { ca } }));
    await conn.write('after\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:after');
  });

  test('server.connections counts TLS connections and drops to 0 when they close', T, async (t) => {
    const server = await tlsEchoServer(t);
    const conn = await connect('localhost', server.address.port, { tls: { ca } });
    await within(
      waitFor(() => server.connections === 1),
      5_000,
      'one connection',
    );
    conn.close();
    await within(
      waitFor(() => server.connections === 0),
      5_000,
      'no connection',
    );
  });

  // Regression: a socket still in its TLS handshake was not tracked, and net.Server.close
  // waited for it (up to the 120 s handshake timeout).
  test('close resolves at its deadline while a client stalls in the TLS handshake', T, async (t) => {
    const server = await listen({ tls: serverTls }, () => {});
    const [raw] = await Promise.all([
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: server.address.port }, () => resolve(socket));
      }),
    ]);
    t.after(() => raw.destroy());
    raw.on('error', () => {});
    await sleep(100);
    await within(server.close({ timeout: 300 }), 5_000, 'close');
  });
});

describe('Stream.startTls', () => {
  /** A plain server that upgrades on `STARTTLS`, then answers one line with `tls:<line>`. */
  async function startTlsServer(t: TestContext, pipelined: boolean) {
    const seen: { buffered: number; encrypted: boolean } = { buffered: -1, encrypted: false };
    const server = await listen({}, async (conn) => {
      if (pipelined) await sleep(100); // let the ClientHello arrive behind the command
      assert.equal(await conn.readLine(), 'STARTTLS');
      seen.buffered = conn.bufferedLength;
      if (!pipelined) await conn.write('GO\n');
      await conn.startTls({ server: true, ...serverTls, timeout: 5_000 });
      seen.encrypted = conn.encrypted;
      // Written as soon as the handshake ends: the client must not lose it.
      await conn.write('welcome\n');
      await conn.write(`tls:${await conn.readLine()}\n`);
    });
    t.after(() => server.close({ timeout: 100 }));
    return { server, seen };
  }

  test('startTls upgrades a client and a server Stream in place', T, async (t) => {
    const { server, seen } = await startTlsServer(t, false);
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await conn.write('STARTTLS\n');
    assert.equal(await within(conn.readLine(), 5_000, 'GO'), 'GO');
    await within(conn.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls');
    assert.equal(conn.encrypted, true);
    assert.equal(await within(conn.readLine(), 5_000, 'welcome'), 'welcome');
    await conn.write('over tls\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:over tls');
    assert.equal(seen.encrypted, true);
    assert.equal(conn.remote.port, server.address.port);
  });

  test(
    'startTls as server feeds a ClientHello already buffered behind the command to the handshake',
    T,
    async (t) => {
      const { server, seen } = await startTlsServer(t, true);
      const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
      await conn.write('STARTTLS\n');
      await within(conn.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls');
      assert.ok(seen.buffered > 0, 'the ClientHello was not buffered when the server upgraded');
      assert.equal(await within(conn.readLine(), 5_000, 'welcome'), 'welcome');
      await conn.write('piped\n');
      assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:piped');
    },
  );

  test('startTls as client works against a node tls server socket', T, async (t) => {
    const [client, serverSide] = await socketPair();
    t.after(() => serverSide.destroy());
    const stream = closeAfter(t, new Stream(client));
    serverSide.write('ready\n');
    assert.equal(await stream.readLine(), 'ready');
    const secure = new tls.TLSSocket(serverSide, {
      isServer: true,
      secureContext: tls.createSecureContext(serverTls),
    });
    secure.on('error', () => {});
    secure.on('data', (chunk: Buffer) => secure.write(chunk.toString().toUpperCase()));
    await within(stream.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls');
    await stream.write('shout\n');
    assert.equal(await within(stream.readLine(), 5_000, 'reply'), 'SHOUT');
  });

  test('startTls as server works against node tls.connect over the same socket', T, async (t) => {
    const [client, serverSide] = await socketPair();
    t.after(() => client.destroy());
    const stream = closeAfter(t, new Stream(serverSide));
    const secure = tls.connect({ socket: client, ca, servername: 'localhost' });
    secure.on('error', () => {});
    await within(stream.startTls({ server: true, ...serverTls }), 5_000, 'startTls');
    secure.write('from node\n');
    assert.equal(await within(stream.readLine(), 5_000, 'line'), 'from node');
  });

  // Regression: a failed upgrade left the stream with no listener: the next read waited forever.
  test('a failed startTls rejects with ConnectError and later reads and writes reject too', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.write('this is not TLS\n'.repeat(4));
      await conn.readAll().catch(() => {});
    });
    t.after(() => server.close({ timeout: 100 }));
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await sleep(50);
    const err = await within(conn.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls').catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(typeof err.systemCode, 'string');
    await assert.rejects(within(conn.read(), 2_000, 'read after failure'), ConnectError);
    await assert.rejects(within(conn.write('x'), 2_000, 'write after failure'), ConnectError);
    await within(conn.closed, 2_000, 'closed');
  });

  test('startTls rejects with TimeoutError in phase tls when the peer never answers', T, async (t) => {
    const server = await silentServer(t);
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    const err = await within(conn.startTls({ ca, timeout: 300 }), 5_000, 'startTls').catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.phase, 'tls');
    await assert.rejects(within(conn.readLine(), 2_000, 'read after timeout'), TimeoutError);
  });

  // Regression: the signal's own DOMException escaped instead of AbortError.
  test(
    'startTls with an aborted signal rejects with AbortError and leaves the stream usable',
    T,
    async (t) => {
      const { stream, peer } = await streamAndPeer(t);
      const err = await stream.startTls({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
      assert.ok(err instanceof AbortError, String(err));
      peer.write('still plain\n');
      assert.equal(await within(stream.readLine(), 2_000, 'line'), 'still plain');
    },
  );

  test('startTls rejects while a read waits, and on a stream already TLS', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    const reading = stream.readLine();
    await assert.rejects(stream.startTls({ ca }), ConcurrentReadError);
    stream.abort();
    await reading.catch(() => {});
    const server = await tlsEchoServer(t);
    const secure = closeAfter(t, await connect('localhost', server.address.port, { tls: { ca } }));
    await assert.rejects(secure.startTls({ ca }), TypeError);
  });

  test('startTls on a closed stream rejects with StreamClosedError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    stream.close();
    await assert.rejects(stream.startTls({ ca }), StreamClosedError);
  });

  // Regression: a write waiting for 'drain' when startTls began never settled.
  test('writes still waiting to drain when startTls starts are flushed and resolve', T, async (t) => {
    const big = Buffer.alloc(4 * 1024 * 1024, 'p');
    let write: Promise<void> | undefined;
    const server = await listen({}, async (conn) => {
      write = conn.write(big);
      await conn.startTls({ server: true, ...serverTls, timeout: 10_000 });
      await conn.write(`tls:${await conn.readLine()}\n`);
    });
    t.after(() => server.close({ timeout: 100 }));
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await sleep(200);
    assert.ok((await within(conn.readExactly(big.length), 10_000, 'clear text')).equals(big));
    await within(conn.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls');
    await conn.write('done\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'tls:done');
    assert.ok(write !== undefined);
    assert.equal(await stateAfter(write, 1_000), 'resolved');
  });

  test('a server connection upgraded with startTls leaves the count when it closes', T, async (t) => {
    const { server } = await startTlsServer(t, false);
    const conn = await connect('127.0.0.1', server.address.port);
    await conn.write('STARTTLS\n');
    await conn.readLine();
    await within(conn.startTls({ ca, servername: 'localhost' }), 5_000, 'startTls');
    assert.equal(server.connections, 1);
    conn.close();
    await within(
      waitFor(() => server.connections === 0),
      5_000,
      'no connection',
    );
  });

  test('a SocketError from the peer during the handshake rejects startTls, never hangs', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const upgrading = stream.startTls({ ca, timeout: 10_000 }).catch((e: unknown) => e);
    await sleep(100);
    peer.resetAndDestroy();
    const err = await within(upgrading, 5_000, 'startTls');
    assert.ok(err instanceof ConnectError || err instanceof SocketError, String(err));
  });
});
