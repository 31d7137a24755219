/**
 * Interop with socat, as client (`socat - TCP:...`) and as server (`socat TCP-LISTEN:... EXEC:cat`),
 * in plain TCP over IPv4 and IPv6, and in TLS (socat's OPENSSL addresses).
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ConnectError } from '../../src/errors.js';
import { type ConnectOptions, connect, listen, type Server, type Stream } from '../../src/net/index.js';
import { fixture, hasIpv6, needPeer, sleep, tlsFixture } from '../helpers.js';
import { freePort, spawnPeer, within } from '../net/tcp-helpers.js';

const T = { timeout: 30_000 };
const noIpv6 = !hasIpv6 && 'no IPv6 loopback';

/** A server that upper-cases each line and says goodbye once the client half-closed. */
async function shoutServer(t: TestContext, options = {}): Promise<Server> {
  const server = await listen(options, async (conn) => {
    let count = 0;
    for await (const line of conn.lines()) {
      count++;
      await conn.write(`${line.toUpperCase()}\n`);
    }
    await conn.write(`bye after ${count}\n`);
  });
  t.after(() => server.close({ timeout: 200 }));
  return server;
}

/** Runs socat as a client with `input` on its stdin; resolves with what it printed. */
async function socatClient(t: TestContext, address: string, input: string): Promise<string> {
  const peer = spawnPeer(t, 'socat', ['-t', '5', '-', address]);
  peer.child.stdin.end(input);
  const { code, stdout, stderr } = await peer.exited(15_000);
  assert.equal(code, 0, stderr);
  return stdout;
}

/**
 * Starts `socat <listen address> EXEC:cat` on a port that was free a moment ago, and connects
 * to it once it listens (socat cannot report the port it bound).
 */
async function catServer(
  t: TestContext,
  listenAddress: (port: number) => string,
  host: string,
  options: ConnectOptions = {},
): Promise<Stream> {
  const port = await freePort(host);
  spawnPeer(t, 'socat', [listenAddress(port), 'EXEC:cat']);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const conn = await connect(host, port, { timeout: 5_000, ...options });
      t.after(() => conn.abort());
      return conn;
    } catch (err) {
      if (!(err instanceof ConnectError && err.systemCode === 'ECONNREFUSED') || Date.now() > deadline)
        throw err;
      await sleep(50);
    }
  }
}

/** Writes `data` and half-closes while reading everything back: cat echoes until our EOF. */
async function roundTrip(conn: Stream, data: Buffer): Promise<Buffer> {
  const reading = conn.readAll();
  await conn.write(data);
  await conn.end();
  return within(reading, 15_000, 'echo from socat');
}

function payload(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + (i >> 8)) & 0xff;
  return data;
}

describe('socat as the client', () => {
  test('socat sends lines, half-closes on stdin EOF, and prints every answer', T, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const server = await shoutServer(t);
    const out = await socatClient(t, `TCP:127.0.0.1:${server.address.port}`, 'ping\npong\r\nlast');
    assert.equal(out, 'PING\nPONG\nLAST\nbye after 3\n');
  });

  test('socat connects over IPv6 ::1', { ...T, skip: noIpv6 }, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const server = await shoutServer(t, { host: '::1' });
    const out = await socatClient(t, `TCP6:[::1]:${server.address.port}`, 'six\n');
    assert.equal(out, 'SIX\nbye after 1\n');
  });

  test('socat verifies listen({ tls }) with the fixture CA and talks through it', T, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const server = await shoutServer(t, { tls: { key: tlsFixture.key, cert: tlsFixture.cert } });
    const address = `OPENSSL:127.0.0.1:${server.address.port},cafile=${fixture('cert.pem')}`;
    const out = await socatClient(t, address, 'encrypted\n');
    assert.equal(out, 'ENCRYPTED\nbye after 1\n');
  });
});

describe('socat as the server', () => {
  test('connect to socat EXEC:cat: 1 MiB echoes back whole, and our half-close ends it', T, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const conn = await catServer(t, (port) => `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, '127.0.0.1');
    const data = payload(1024 * 1024);
    const echoed = await roundTrip(conn, data);
    assert.equal(echoed.length, data.length);
    assert.ok(echoed.equals(data));
    assert.equal(conn.atEof, true);
  });

  test('line reading through socat EXEC:cat', T, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const conn = await catServer(t, (port) => `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, '127.0.0.1');
    await conn.write('one\r\ntwo\nthr');
    assert.equal(await within(conn.readLine(), 5_000, 'line'), 'one');
    assert.equal(await within(conn.readLine(), 5_000, 'line'), 'two');
    await conn.write('ee\n');
    assert.deepEqual(await within(conn.readUntil('\n'), 5_000, 'record'), Buffer.from('three\n'));
  });

  test('connect to socat over IPv6 ::1', { ...T, skip: noIpv6 }, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const conn = await catServer(t, (port) => `TCP6-LISTEN:${port},bind=[::1],reuseaddr`, '::1');
    assert.equal(conn.remote.family, 'IPv6');
    const data = payload(64 * 1024);
    assert.ok((await roundTrip(conn, data)).equals(data));
  });

  test('connect({ tls }) to socat OPENSSL-LISTEN verifies it and echoes through TLS', T, async (t) => {
    if (!needPeer(t, 'socat', ['-V'])) return;
    const conn = await catServer(
      t,
      (port) =>
        `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,cert=${fixture('cert.pem')},key=${fixture('key.pem')},verify=0`,
      '127.0.0.1',
      { tls: { ca: tlsFixture.cert, servername: 'localhost' } },
    );
    assert.equal(conn.encrypted, true);
    const data = payload(256 * 1024);
    assert.ok((await roundTrip(conn, data)).equals(data));
  });
});
