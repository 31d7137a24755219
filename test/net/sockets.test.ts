import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatHostPort, UnsupportedError } from '../../src/errors.js';
import { parseProcNetTcp, sockets, TCP_STATES, type TcpSocketInfo } from '../../src/net/index.js';
import { hasCommand, hasIpv6, sleep } from '../helpers.js';

const T = { timeout: 15_000 };

/**
 * The fixtures are written as a little-endian kernel prints them; on a big-endian host the kernel
 * prints each 32-bit address word the other way round, so swap them to match.
 */
function hostOrder(text: string): string {
  if (endianness() === 'LE') return text;
  return text.replace(/\b([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})\b/g, (_, hex: string, port: string) => {
    const words = hex.match(/.{8}/g) as string[];
    return `${words.map((w) => (w.match(/../g) as string[]).reverse().join('')).join('')}:${port}`;
  });
}

const TCP_FIXTURE = hostOrder(
  [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
    '   1: 0100007F:D431 0100007F:1F90 01 0000002A:00000010 02:000000F6 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1',
    '   2: 0A00A8C0:0016 6400A8C0:C350 06 00000000:00000000 03:00000F3C 00000000     0        0 0 3 0000000000000000',
    '   3: garbage line that is not a socket',
    '   4: 0100007F:0050 00000000:0000 FF 00000000:00000000 00:00000000 00000000     0        0 99 1',
    '',
  ].join('\n'),
);

const TCP6_FIXTURE = hostOrder(
  [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 5151 1 0000000000000000 100 0 0 10 0',
    '   1: 0000000000000000FFFF00000100007F:8B79 0000000000000000FFFF00000100007F:DA28 01 00000000:00000000 00:00000000 00000000     0        0 12272 1 0000000000000000 20 0 0 10 -1',
    '   2: B80D0120000000000000000002000100:1F90 B80D0120000000000000000005000000:E2B6 08 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 0 0 10 -1',
    '',
  ].join('\n'),
);

describe('parseProcNetTcp', () => {
  test('decodes an IPv4 LISTEN line: 0100007F:1F90 is 127.0.0.1:8080', T, () => {
    const [listen] = parseProcNetTcp(TCP_FIXTURE, 'IPv4');
    assert.deepEqual(listen, {
      family: 'IPv4',
      local: { address: '127.0.0.1', port: 8080 },
      remote: { address: '0.0.0.0', port: 0 },
      state: 'LISTEN',
      uid: 1000,
      inode: 4242,
      txQueue: 0,
      rxQueue: 3,
    } satisfies TcpSocketInfo);
  });

  test('decodes ESTABLISHED and TIME_WAIT lines with both ends, queues and byte order', T, () => {
    const [, established, timeWait] = parseProcNetTcp(TCP_FIXTURE, 'IPv4');
    assert.deepEqual(established, {
      family: 'IPv4',
      local: { address: '127.0.0.1', port: 54321 },
      remote: { address: '127.0.0.1', port: 8080 },
      state: 'ESTABLISHED',
      uid: 1000,
      inode: 4343,
      txQueue: 42,
      rxQueue: 16,
    });
    assert.equal(timeWait?.state, 'TIME_WAIT');
    // 0A00A8C0 in host order is 192.168.0.10: the first byte of the address is the low one.
    assert.deepEqual(timeWait?.local, { address: '192.168.0.10', port: 22 });
    assert.deepEqual(timeWait?.remote, { address: '192.168.0.100', port: 50000 });
    assert.equal(timeWait?.inode, 0);
  });

  test('skips the header, garbage and unknown state codes', T, () => {
    assert.equal(parseProcNetTcp(TCP_FIXTURE, 'IPv4').length, 3);
    assert.deepEqual(parseProcNetTcp('', 'IPv4'), []);
    // An IPv6 table read as IPv4 has addresses of the wrong length: nothing matches.
    assert.deepEqual(parseProcNetTcp(TCP6_FIXTURE, 'IPv4'), []);
  });

  test('decodes IPv6 lines in canonical compressed form', T, () => {
    const [loopback, , closeWait] = parseProcNetTcp(TCP6_FIXTURE, 'IPv6');
    assert.deepEqual(loopback, {
      family: 'IPv6',
      local: { address: '::1', port: 443 },
      remote: { address: '::', port: 0 },
      state: 'LISTEN',
      uid: 101,
      inode: 5151,
      txQueue: 0,
      rxQueue: 0,
    });
    assert.deepEqual(closeWait?.local, { address: '2001:db8::1:2', port: 8080 });
    assert.deepEqual(closeWait?.remote, { address: '2001:db8::5', port: 58038 });
    assert.equal(closeWait?.state, 'CLOSE_WAIT');
  });

  test('prints a v4-mapped IPv6 address as ::ffff:127.0.0.1', T, () => {
    const mapped = parseProcNetTcp(TCP6_FIXTURE, 'IPv6')[1];
    assert.deepEqual(mapped?.local, { address: '::ffff:127.0.0.1', port: 35705 });
    assert.deepEqual(mapped?.remote, { address: '::ffff:127.0.0.1', port: 55848 });
    assert.equal(mapped?.state, 'ESTABLISHED');
  });

  test('TCP_STATES lists the twelve kernel states in code order', T, () => {
    assert.equal(TCP_STATES.length, 12);
    assert.equal(TCP_STATES[0x0a - 1], 'LISTEN');
    assert.equal(TCP_STATES[0x06 - 1], 'TIME_WAIT');
    assert.ok(Object.isFrozen(TCP_STATES));
  });
});

describe('sockets with a fixture procRoot', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'wirekit-proc-'));
    await mkdir(join(root, 'both', 'net'), { recursive: true });
    await writeFile(join(root, 'both', 'net', 'tcp'), TCP_FIXTURE);
    await writeFile(join(root, 'both', 'net', 'tcp6'), TCP6_FIXTURE);
    await mkdir(join(root, 'v4only', 'net'), { recursive: true });
    await writeFile(join(root, 'v4only', 'net', 'tcp'), TCP_FIXTURE);
    await mkdir(join(root, 'empty'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('reads both tables, IPv4 first', T, async () => {
    const all = await sockets({ procRoot: join(root, 'both') });
    assert.deepEqual(
      all.map((s) => s.family),
      ['IPv4', 'IPv4', 'IPv4', 'IPv6', 'IPv6', 'IPv6'],
    );
  });

  test('state filters are case-insensitive and accept a list', T, async () => {
    const procRoot = join(root, 'both');
    const listening = await sockets({ procRoot, state: 'listen' as 'LISTEN' });
    assert.deepEqual(
      listening.map((s) => s.local.port),
      [8080, 443],
    );
    const some = await sockets({ procRoot, state: ['TIME_WAIT', 'close_wait' as 'CLOSE_WAIT'] });
    assert.deepEqual(
      some.map((s) => s.state),
      ['TIME_WAIT', 'CLOSE_WAIT'],
    );
  });

  test('port matches the local or the remote port', T, async () => {
    const procRoot = join(root, 'both');
    const on8080 = await sockets({ procRoot, port: 8080 });
    assert.deepEqual(
      on8080.map((s) => `${s.local.port}>${s.remote.port}`),
      ['8080>0', '54321>8080', '8080>58038'],
    );
    assert.deepEqual(await sockets({ procRoot, port: 1 }), []);
  });

  test('uses /proc/net/tcp alone when there is no tcp6 (no IPv6)', T, async () => {
    const all = await sockets({ procRoot: join(root, 'v4only') });
    assert.equal(all.length, 3);
    assert.ok(all.every((s) => s.family === 'IPv4'));
  });

  test('rejects with UnsupportedError when /proc/net/tcp does not exist', T, async () => {
    const err = await sockets({ procRoot: join(root, 'empty') }).catch((e: unknown) => e);
    assert.ok(err instanceof UnsupportedError, String(err));
    assert.equal(err.code, 'WK_ERR_UNSUPPORTED');
    assert.match(err.message, /\/proc\/net\/tcp is not available on this platform/);
  });

  test('an unknown state is a RangeError listing the valid ones', T, async () => {
    await assert.rejects(sockets({ state: 'OPEN' as 'LISTEN' }), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.match(err.message, /unknown TCP state OPEN/);
      assert.match(err.message, /ESTABLISHED, SYN_SENT, .*NEW_SYN_RECV/);
      return true;
    });
    await assert.rejects(sockets({ state: ['LISTEN', 'nope' as 'LISTEN'] }), RangeError);
    await assert.rejects(sockets({ port: 65_536 }), RangeError);
  });
});

/** Polls sockets() until `pick` finds something, so the kernel's state changes have time to land. */
async function waitFor(
  filter: Parameters<typeof sockets>[0],
  pick: (all: TcpSocketInfo[]) => TcpSocketInfo | undefined,
  ms = 3_000,
): Promise<TcpSocketInfo> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = pick(await sockets(filter));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no matching socket within ${ms} ms`);
    await sleep(20);
  }
}

async function listening(host: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return server;
}

async function connectedPair(
  server: net.Server,
  host: string,
): Promise<{ client: net.Socket; accepted: net.Socket }> {
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, host);
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, accepted: await accepted };
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

for (const [family, host] of [
  ['IPv4', '127.0.0.1'],
  ['IPv6', '::1'],
] as const) {
  describe(`sockets on this machine (${family}, ${host})`, () => {
    test('finds a node:net listener in LISTEN with its local address', T, async (t) => {
      if (family === 'IPv6' && !hasIpv6) return t.skip('this machine has no IPv6 loopback');
      const server = await listening(host);
      try {
        const { port } = server.address() as net.AddressInfo;
        // Filtered by family too: another test's ::1 socket may share the port number.
        const found = (await sockets({ state: 'LISTEN', port })).filter((s) => s.family === family);
        assert.equal(found.length, 1, JSON.stringify(found));
        assert.equal(found[0]?.family, family);
        assert.deepEqual(found[0]?.local, { address: host, port });
        assert.equal(found[0]?.uid, process.getuid?.() ?? found[0]?.uid);
        assert.ok((found[0]?.inode ?? 0) > 0);
      } finally {
        await close(server);
      }
    });

    test('shows a connected pair as ESTABLISHED on both ends', T, async (t) => {
      if (family === 'IPv6' && !hasIpv6) return t.skip('this machine has no IPv6 loopback');
      const server = await listening(host);
      const { port } = server.address() as net.AddressInfo;
      const { client, accepted } = await connectedPair(server, host);
      try {
        const clientPort = client.localPort as number;
        const established = (await sockets({ state: 'ESTABLISHED', port })).filter(
          (s) => s.family === family,
        );
        const ends = established
          .map((s) => `${s.local.address}:${s.local.port} > ${s.remote.address}:${s.remote.port}`)
          .sort();
        const expected = [
          `${host}:${port} > ${host}:${clientPort}`,
          `${host}:${clientPort} > ${host}:${port}`,
        ].sort();
        assert.deepEqual(ends, expected);
      } finally {
        client.destroy();
        accepted.destroy();
        await close(server);
      }
    });

    test('shows TIME_WAIT on the end that closed first', T, async (t) => {
      if (family === 'IPv6' && !hasIpv6) return t.skip('this machine has no IPv6 loopback');
      const server = await listening(host);
      const { port } = server.address() as net.AddressInfo;
      const { client, accepted } = await connectedPair(server, host);
      const clientPort = client.localPort as number;
      try {
        // The client sends FIN first; the server (allowHalfOpen off) answers with its own FIN.
        const clientClosed = new Promise((resolve) => client.once('close', resolve));
        client.end();
        await clientClosed;
        const timeWait = await waitFor({ state: 'time_wait' as 'TIME_WAIT', port }, (all) =>
          all.find((s) => s.local.port === clientPort),
        );
        assert.deepEqual(timeWait.remote, { address: host, port });
        assert.equal(timeWait.family, family);
      } finally {
        accepted.destroy();
        await close(server);
      }
    });
  });
}

test('local addresses agree with ss -tan for IPv4, IPv6 and v4-mapped listeners', T, async (t) => {
  if (!hasCommand('ss', ['-V'])) return t.skip('ss (iproute2) is not installed');
  const hosts = ['127.0.0.1', ...(hasIpv6 ? ['::1'] : []), '::ffff:127.0.0.1'];
  const servers = await Promise.all(hosts.map(listening));
  try {
    const ss = execFileSync('ss', ['-tanH', 'state', 'listening'], { encoding: 'utf8', timeout: 5_000 });
    for (const server of servers) {
      const { port } = server.address() as net.AddressInfo;
      const [found] = await sockets({ state: 'LISTEN', port });
      assert.ok(found, `port ${port} not found`);
      const shown = formatHostPort(found.local.address, found.local.port);
      assert.ok(ss.includes(` ${shown} `), `${shown} not in ss output:\n${ss}`);
    }
  } finally {
    await Promise.all(servers.map(close));
  }
});
