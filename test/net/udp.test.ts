import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  AbortError,
  DatagramTooLargeError,
  ListenError,
  SocketError,
  StreamClosedError,
} from '../../src/errors.js';
import { bindUdp, type Datagram, type UdpSocket, udpDefaults } from '../../src/net/index.js';
import { hasIpv6, sleep } from '../helpers.js';

const T = { timeout: 10_000 };

/** Rejects when `promise` takes longer than `ms`, so a lost datagram fails instead of hanging. */
function within<V>(promise: Promise<V>, ms = 2_000, what = 'datagram'): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function next(socket: UdpSocket): Promise<Datagram> {
  const datagram = await within(socket.receive());
  assert.ok(datagram, 'expected a datagram, got null');
  return datagram;
}

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('bindUdp', () => {
  test('defaults bind 127.0.0.1 on a free port with every option key present', T, async () => {
    assert.deepEqual(Object.keys(udpDefaults).sort(), [
      'broadcast',
      'host',
      'ipv6Only',
      'port',
      'queue',
      'recvBufferSize',
      'reuseAddr',
      'sendBufferSize',
      'signal',
    ]);
    await using socket = await bindUdp();
    assert.equal(socket.address.address, '127.0.0.1');
    assert.equal(socket.address.family, 'IPv4');
    assert.ok(socket.address.port > 0);
  });

  test('a datagram makes an IPv4 round trip with the sender address and port', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    await client.send('ping', server.address.port, '127.0.0.1');
    const got = await next(server);
    assert.equal(got.data.toString(), 'ping');
    assert.deepEqual(
      { address: got.address, port: got.port, family: got.family },
      { address: '127.0.0.1', port: client.address.port, family: 'IPv4' },
    );
    await server.send(got.data, got.port, got.address);
    assert.equal((await next(client)).data.toString(), 'ping');
  });

  test('a datagram makes an IPv6 round trip on ::1', T, async (t) => {
    if (!hasIpv6) return t.skip('this machine has no IPv6 loopback');
    await using server = await bindUdp({ host: '::1' });
    await using client = await bindUdp({ host: '::1' });
    assert.equal(server.address.family, 'IPv6');
    assert.equal(server.address.address, '::1');
    await client.send('ping6', server.address.port); // default host: the family's loopback
    const got = await next(server);
    assert.deepEqual(
      { text: got.data.toString(), address: got.address, port: got.port, family: got.family },
      { text: 'ping6', address: '::1', port: client.address.port, family: 'IPv6' },
    );
    await server.send('pong6', got.port, got.address);
    assert.equal((await next(client)).data.toString(), 'pong6');
  });

  test('send without a host goes to 127.0.0.1 on an IPv4 socket', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    await client.send('default host', server.address.port);
    assert.equal((await next(server)).data.toString(), 'default host');
  });

  test('send resolves a host name (localhost) and keeps binary data intact', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    const bytes = new Uint8Array(256).map((_, i) => i);
    await client.send(bytes, server.address.port, 'localhost');
    assert.deepEqual(new Uint8Array((await next(server)).data), bytes);
  });

  test('for await yields datagrams in arrival order', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    for (const text of ['one', 'two', 'three']) await client.send(text, server.address.port);
    const seen: string[] = [];
    await within(
      (async () => {
        for await (const { data } of server) {
          seen.push(data.toString());
          if (seen.length === 3) break;
        }
      })(),
    );
    assert.deepEqual(seen, ['one', 'two', 'three']);
  });

  test('several waiting receive() calls are served in order', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    const first = server.receive();
    const second = server.receive();
    await client.send('a', server.address.port);
    await client.send('b', server.address.port);
    const [a, b] = await within(Promise.all([first, second]));
    assert.equal(a?.data.toString(), 'a');
    assert.equal(b?.data.toString(), 'b');
  });

  test('datagrams past the queue are dropped and counted in dropped', T, async () => {
    await using server = await bindUdp({ queue: 2 });
    await using client = await bindUdp();
    for (let i = 0; i < 5; i++) await client.send(String(i), server.address.port);
    await until(() => server.dropped === 3);
    assert.equal((await next(server)).data.toString(), '0');
    assert.equal((await next(server)).data.toString(), '1');
    // The queue has room again.
    await client.send('5', server.address.port);
    assert.equal((await next(server)).data.toString(), '5');
    assert.equal(server.dropped, 3);
  });

  test('close resolves a pending receive with null and ends iteration', T, async () => {
    const server = await bindUdp();
    const pending = server.receive();
    const iterated = (async () => {
      const seen: Datagram[] = [];
      for await (const datagram of server) seen.push(datagram);
      return seen;
    })();
    await sleep(10);
    await within(server.close(), 2_000, 'close');
    assert.equal(await within(pending), null);
    assert.deepEqual(await within(iterated), []);
    assert.equal(await server.receive(), null);
    assert.equal(server.isClosed, true);
    await server.close(); // idempotent
    assert.ok(server.address.port > 0, 'the address stays readable after close');
  });

  test('close drops datagrams nobody read', T, async () => {
    const server = await bindUdp();
    await using client = await bindUdp();
    await client.send('unread', server.address.port);
    await sleep(50);
    await server.close();
    assert.equal(await server.receive(), null);
  });

  test('send rejects with StreamClosedError after close', T, async () => {
    const socket = await bindUdp();
    await socket.close();
    await assert.rejects(socket.send('late', 9), StreamClosedError);
    assert.throws(() => socket.setBroadcast(true), StreamClosedError);
  });

  test(
    'send settles with StreamClosedError when the socket closes during the address lookup',
    T,
    async () => {
      const socket = await bindUdp();
      const sending = socket.send('x', 9, 'localhost');
      await socket.close();
      await assert.rejects(within(sending, 2_000, 'send settlement'), StreamClosedError);
    },
  );

  test(
    'send rejects with DatagramTooLargeError for 65508 bytes over IPv4 and delivers 65507',
    T,
    async () => {
      await using server = await bindUdp();
      await using client = await bindUdp();
      const err = await within(
        client.send(Buffer.alloc(65_508), server.address.port).then(
          () => assert.fail('expected a rejection'),
          (e: unknown) => e,
        ),
      );
      assert.ok(err instanceof DatagramTooLargeError);
      assert.equal(err.code, 'WK_ERR_DATAGRAM_TOO_LARGE');
      assert.equal(err.size, 65_508);
      assert.equal(err.limit, 65_507);
      await client.send(Buffer.alloc(65_507, 1), server.address.port);
      assert.equal((await next(server)).data.length, 65_507);
    },
  );

  test(
    'send rejects with DatagramTooLargeError for 65528 bytes over IPv6 and delivers 65527',
    T,
    async (t) => {
      if (!hasIpv6) return t.skip('this machine has no IPv6 loopback');
      await using server = await bindUdp({ host: '::1' });
      await using client = await bindUdp({ host: '::1' });
      await assert.rejects(within(client.send(Buffer.alloc(65_528), server.address.port)), {
        name: 'DatagramTooLargeError',
        limit: 65_527,
      });
      await client.send(Buffer.alloc(65_527, 1), server.address.port);
      assert.equal((await next(server)).data.length, 65_527);
    },
  );

  test('a string is measured in UTF-8 bytes against the limit', T, async () => {
    await using client = await bindUdp();
    await assert.rejects(client.send('é'.repeat(32_754), 9), { name: 'DatagramTooLargeError', size: 65_508 });
  });

  test("the system's EMSGSIZE becomes DatagramTooLargeError (IPv6 socket, IPv4 peer)", T, async () => {
    // A socket bound to a v4-mapped address passes the IPv6 pre-check but speaks IPv4 on the wire.
    await using server = await bindUdp();
    await using client = await bindUdp({ host: '::ffff:127.0.0.1' });
    assert.equal(client.address.family, 'IPv6');
    await assert.rejects(within(client.send(Buffer.alloc(65_510), server.address.port, '127.0.0.1')), {
      name: 'DatagramTooLargeError',
      size: 65_510,
      limit: 65_507,
    });
    await client.send('fits', server.address.port, '127.0.0.1');
    const got = await next(server);
    assert.equal(got.data.toString(), 'fits');
    assert.equal(got.address, '127.0.0.1');
  });

  test('send to an unresolvable host rejects with SocketError ENOTFOUND', T, async () => {
    await using client = await bindUdp();
    const err = await within(client.send('x', 9, 'nonexistent.invalid').catch((e: unknown) => e));
    assert.ok(err instanceof SocketError);
    assert.equal(err.systemCode, 'ENOTFOUND');
  });

  test('bindUdp rejects with ListenError EADDRINUSE on a busy port', T, async () => {
    await using first = await bindUdp();
    const err = await bindUdp({ port: first.address.port }).catch((e: unknown) => e);
    assert.ok(err instanceof ListenError, String(err));
    assert.equal(err.code, 'WK_ERR_LISTEN');
    assert.equal(err.systemCode, 'EADDRINUSE');
    assert.equal(err.port, first.address.port);
  });

  test('bindUdp rejects with ListenError for a host name that does not resolve', T, async () => {
    const err = await bindUdp({ host: 'nonexistent.invalid' }).catch((e: unknown) => e);
    assert.ok(err instanceof ListenError, String(err));
    assert.equal(err.systemCode, 'ENOTFOUND');
  });

  test('bindUdp accepts a host name and infers its family', T, async () => {
    await using socket = await bindUdp({ host: 'localhost' });
    assert.ok(['127.0.0.1', '::1'].includes(socket.address.address));
  });

  test('the broadcast flag allows sending to 127.255.255.255 and setBroadcast turns it off', T, async () => {
    await using plain = await bindUdp();
    await assert.rejects(plain.send('x', 9, '127.255.255.255'), {
      name: 'SocketError',
      systemCode: 'EACCES',
    });
    await using socket = await bindUdp({ broadcast: true });
    await socket.send('x', 9, '127.255.255.255');
    socket.setBroadcast(false);
    await assert.rejects(socket.send('x', 9, '127.255.255.255'), { systemCode: 'EACCES' });
    socket.setBroadcast(true);
    await socket.send('x', 9, '127.255.255.255');
  });

  test('two reuseAddr members of a 239.x group on lo both receive a datagram sent to it', T, async (t) => {
    // Binding the group address (not 0.0.0.0) keeps the test off every other interface; joining
    // and sending on 127.0.0.1 keeps the traffic on lo even where lo lacks the MULTICAST flag.
    const group = `239.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const a = await bindUdp({ host: group, reuseAddr: true });
    await using _a = a;
    await using b = await bindUdp({ host: group, port: a.address.port, reuseAddr: true });
    try {
      a.addMembership(group, '127.0.0.1');
      b.addMembership(group, '127.0.0.1');
    } catch (err) {
      if (err instanceof SocketError && process.env.CI !== 'true') {
        return t.skip(`this machine cannot join multicast groups on lo: ${err.message}`);
      }
      throw err;
    }
    await using sender = await bindUdp();
    sender.setMulticastInterface('127.0.0.1');
    sender.setMulticastLoopback(true);
    sender.setMulticastTtl(0);
    await sender.send('to the group', a.address.port, group);
    const [gotA, gotB] = await Promise.all([next(a), next(b)]);
    assert.equal(gotA.data.toString(), 'to the group');
    assert.equal(gotB.data.toString(), 'to the group');
    assert.equal(gotA.port, sender.address.port);
    a.dropMembership(group, '127.0.0.1');
  });

  test('a receive error rejects the waiting receive with SocketError and the socket goes on', T, async () => {
    await using server = await bindUdp();
    await using client = await bindUdp();
    const pending = server.receive();
    // What node's dgram emits when recvmsg fails; the kernel cannot be made to fail on cue.
    server.socket.emit('error', Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' }));
    await assert.rejects(within(pending), { name: 'SocketError', systemCode: 'ENOBUFS' });
    server.socket.emit('error', Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' }));
    await assert.rejects(server.receive(), { name: 'SocketError' }, 'kept for the next receive');
    await client.send('still here', server.address.port);
    assert.equal((await next(server)).data.toString(), 'still here');
  });

  test('aborting the signal closes the socket and ends a pending receive', T, async () => {
    const controller = new AbortController();
    const socket = await bindUdp({ signal: controller.signal });
    const pending = socket.receive();
    controller.abort();
    assert.equal(await within(pending), null);
    assert.equal(socket.isClosed, true);
    await within(socket.close(), 2_000, 'close');
  });

  test('bindUdp rejects with AbortError when the signal is already aborted', T, async () => {
    await assert.rejects(bindUdp({ signal: AbortSignal.abort() }), AbortError);
  });

  test('recvBufferSize and sendBufferSize are applied', T, async () => {
    await using socket = await bindUdp({ recvBufferSize: 65_536, sendBufferSize: 65_536 });
    // Linux doubles what it is given for bookkeeping; it must be at least what was asked.
    assert.ok(socket.socket.getRecvBufferSize() >= 65_536);
    assert.ok(socket.socket.getSendBufferSize() >= 65_536);
  });

  test('bad arguments throw TypeError or RangeError before any work', T, async () => {
    await assert.rejects(bindUdp({ port: 70_000 }), RangeError);
    await assert.rejects(bindUdp({ port: 1.5 }), RangeError);
    await assert.rejects(bindUdp({ queue: -1 }), RangeError);
    await assert.rejects(bindUdp({ host: '' }), TypeError);
    await assert.rejects(bindUdp({ recvBufferSize: 0 }), RangeError);
    await using socket = await bindUdp();
    await assert.rejects(socket.send('x', 0), RangeError);
    await assert.rejects(socket.send('x', 65_536), RangeError);
    await assert.rejects(socket.send(42 as unknown as string, 9), TypeError);
    assert.throws(() => socket.addMembership('not-an-ip'), TypeError);
    assert.throws(() => socket.setMulticastTtl(256), RangeError);
    assert.throws(() => socket.setMulticastInterface(''), TypeError);
  });
});
