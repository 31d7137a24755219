import assert from 'node:assert/strict';
import dns from 'node:dns';
import * as net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { AbortError, ConnectError, ListenError, TimeoutError } from '../../src/errors.js';
import { connect, listen, type Server, type Stream } from '../../src/net/index.js';
import { hasIpv6, needPeer, sleep } from '../helpers.js';
import { freePort, stalledListener, stateAfter, within } from './tcp-helpers.js';

const T = { timeout: 20_000 };
const noIpv6 = !hasIpv6 && 'no IPv6 loopback (::1)';

/** A server that answers each line with `<prefix>:<line>` and closes at end of test. */
async function echoServer(t: TestContext, host = '127.0.0.1', prefix = 'echo'): Promise<Server> {
  const server = await listen({ host }, async (conn) => {
    for await (const line of conn.lines()) await conn.write(`${prefix}:${line}\n`);
  });
  t.after(() => server.close({ timeout: 100 }));
  return server;
}

function closeAfter(t: TestContext, stream: Stream): Stream {
  t.after(() => stream.abort());
  return stream;
}

/** A `lookup` option under which `name` resolves to `addresses` (in that order), as a dual-stack name would. */
function fakeName(name: string, addresses: Array<{ address: string; family: 4 | 6 }>): net.LookupFunction {
  return ((host: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    if (host !== name) return dns.lookup(host, options, callback as never);
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const list = addresses.filter((a) => family === 0 || a.family === family);
    process.nextTick(() => {
      if (list.length === 0)
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
      else if (options.all) callback(null, list);
      else callback(null, list[0]?.address, list[0]?.family);
    });
  }) as net.LookupFunction;
}

describe('connect', () => {
  test('connect to 127.0.0.1 gives a Stream that talks both ways', T, async (t) => {
    const server = await echoServer(t);
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await conn.write('hello\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'echo:hello');
    assert.equal(conn.remote.port, server.address.port);
    assert.equal(conn.remote.family, 'IPv4');
    assert.equal(conn.local.address, '127.0.0.1');
  });

  test('connect to ::1 over IPv6', { ...T, skip: noIpv6 }, async (t) => {
    const server = await echoServer(t, '::1');
    assert.equal(server.address.family, 'IPv6');
    const conn = closeAfter(t, await connect('::1', server.address.port));
    await conn.write('six\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'echo:six');
    assert.deepEqual(conn.remote, { address: '::1', port: server.address.port, family: 'IPv6' });
  });

  test('connect binds the source address and port given as localAddress/localPort', T, async (t) => {
    const seen: Array<{ address: string; port: number }> = [];
    const server = await listen({}, (conn) => {
      seen.push({ address: conn.remote.address, port: conn.remote.port });
    });
    t.after(() => server.close({ timeout: 100 }));
    const localPort = await freePort();
    const conn = closeAfter(
      t,
      await connect('127.0.0.1', server.address.port, { localAddress: '127.0.0.2', localPort }),
    );
    assert.deepEqual(conn.local, { address: '127.0.0.2', port: localPort, family: 'IPv4' });
    assert.equal(await within(conn.readLine(), 5_000, 'EOF'), null);
    assert.deepEqual(seen, [{ address: '127.0.0.2', port: localPort }]);
  });

  test(
    'happy eyeballs falls back to IPv4 when the IPv6 address of a dual-stack name refuses',
    T,
    async (t) => {
      const server = await echoServer(t, '127.0.0.1', 'v4');
      const lookup = fakeName('dual.test', [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ]);
      const conn = closeAfter(t, await connect('dual.test', server.address.port, { lookup }));
      assert.equal(conn.remote.address, '127.0.0.1');
      await conn.write('x\n');
      assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'v4:x');
    },
  );

  test(
    'happy eyeballs uses IPv6 when the dual-stack name answers there',
    {
      ...T,
      skip: noIpv6,
    },
    async (t) => {
      const server = await echoServer(t, '::1', 'v6');
      const lookup = fakeName('dual.test', [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
      const conn = closeAfter(t, await connect('dual.test', server.address.port, { lookup }));
      assert.equal(conn.remote.address, '::1');
    },
  );

  test('happyEyeballs: false tries only the first address', T, async (t) => {
    const server = await echoServer(t);
    const lookup = fakeName('dual.test', [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const err = await connect('dual.test', server.address.port, { lookup, happyEyeballs: false }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.systemCode, 'ECONNREFUSED');
  });

  test('family: 4 and family: 6 pick only that family of a dual-stack name', T, async (t) => {
    const server = await echoServer(t);
    const lookup = fakeName('dual.test', [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const v4 = closeAfter(t, await connect('dual.test', server.address.port, { lookup, family: 4 }));
    assert.equal(v4.remote.address, '127.0.0.1');
    const err = await connect('dual.test', server.address.port, { lookup, family: 6 }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectError, String(err));
    if (hasIpv6) assert.equal(err.systemCode, 'ECONNREFUSED');
  });

  test('a refused port rejects with ConnectError ECONNREFUSED', T, async () => {
    const port = await freePort();
    const err = await within(connect('127.0.0.1', port), 10_000, 'connect').catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, 'WK_ERR_CONNECT');
    assert.equal(err.systemCode, 'ECONNREFUSED');
    assert.equal(err.host, '127.0.0.1');
    assert.equal(err.port, port);
    assert.match(err.message, /ECONNREFUSED/);
  });

  test(
    'a refused dual-stack name reports ECONNREFUSED from the happy-eyeballs AggregateError',
    T,
    async () => {
      const port = await freePort();
      const lookup = fakeName('dual.test', [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ]);
      const err = await within(connect('dual.test', port, { lookup }), 10_000, 'connect').catch(
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectError, String(err));
      assert.equal(err.systemCode, 'ECONNREFUSED');
    },
  );

  test('an unknown name rejects with ConnectError ENOTFOUND', T, async () => {
    const err = await within(
      connect('nonexistent.invalid', 80, { timeout: 10_000 }),
      15_000,
      'connect',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.systemCode, 'ENOTFOUND');
  });

  test('a connect that gets no answer rejects with TimeoutError in phase connect', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const port = await stalledListener(t);
    const started = Date.now();
    const err = await within(connect('127.0.0.1', port, { timeout: 500 }), 10_000, 'connect').catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.code, 'WK_ERR_TIMEOUT');
    assert.equal(err.phase, 'connect');
    assert.equal(err.timeout, 500);
    assert.ok(Date.now() - started >= 450, `gave up after ${Date.now() - started} ms`);
  });

  test('aborting the signal during a connect rejects with AbortError', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const port = await stalledListener(t);
    const controller = new AbortController();
    const reason = new Error('user gave up');
    setTimeout(() => controller.abort(reason), 100);
    const err = await within(
      connect('127.0.0.1', port, { signal: controller.signal, timeout: 10_000 }),
      5_000,
      'connect',
    ).catch((e: unknown) => e);
    assert.ok(err instanceof AbortError, String(err));
    assert.equal(err.code, 'WK_ERR_ABORTED');
    assert.equal(err.cause, reason);
  });

  // Regression: an already aborted signal threw the signal's DOMException, not AbortError.
  test('an already aborted signal rejects with AbortError before connecting', T, async (t) => {
    let accepted = 0;
    const server = await listen({}, () => {
      accepted++;
    });
    t.after(() => server.close({ timeout: 100 }));
    const err = await connect('127.0.0.1', server.address.port, { signal: AbortSignal.abort('no') }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof AbortError, String(err));
    assert.equal(err.cause, 'no');
    await sleep(100);
    assert.equal(accepted, 0);
  });

  test('connect rejects bad arguments with TypeError/RangeError before any I/O', async () => {
    await assert.rejects(connect('127.0.0.1', 70_000), RangeError);
    await assert.rejects(connect('127.0.0.1', -1), RangeError);
    await assert.rejects(connect('127.0.0.1', 1.5), RangeError);
    await assert.rejects(connect('', 80), TypeError);
    await assert.rejects(connect('127.0.0.1', 80, { timeout: -1 }), RangeError);
    await assert.rejects(connect('127.0.0.1', 80, { family: 5 as 4 }), RangeError);
    await assert.rejects(connect('127.0.0.1', 80, { localPort: 65_536 }), RangeError);
  });

  // Regression: `{ timeout: undefined }` replaced the default and failed validation.
  test('options given as undefined take their defaults', T, async (t) => {
    const server = await echoServer(t);
    const conn = closeAfter(
      t,
      await connect('127.0.0.1', server.address.port, {
        timeout: undefined,
        family: undefined,
        happyEyeballs: undefined,
        signal: undefined,
      }),
    );
    await conn.write('d\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'echo:d');
  });

  test('the limit option reaches the Stream connect returns', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.write(`${'a'.repeat(40)}\n`);
    });
    t.after(() => server.close({ timeout: 100 }));
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port, { limit: 20 }));
    await sleep(50);
    await assert.rejects(conn.readLine(), { name: 'LimitExceededError' });
  });
});

describe('listen', () => {
  test('listen binds 127.0.0.1 and a free port by default', T, async (t) => {
    const server = await listen({}, () => {});
    t.after(() => server.close({ timeout: 100 }));
    assert.equal(server.address.address, '127.0.0.1');
    assert.equal(server.address.family, 'IPv4');
    assert.ok(server.address.port > 0);
  });

  // Regression: `{ host: undefined }` replaced the default and bound every interface.
  test('listen with host and port given as undefined still binds 127.0.0.1 and a free port', T, async (t) => {
    const server = await listen({ host: undefined, port: undefined }, () => {});
    t.after(() => server.close({ timeout: 100 }));
    assert.equal(server.address.address, '127.0.0.1');
    assert.ok(server.address.port > 0);
  });

  test('listen on ::1 accepts IPv6 clients', { ...T, skip: noIpv6 }, async (t) => {
    const server = await echoServer(t, '::1', 'six');
    assert.deepEqual(server.address, { address: '::1', port: server.address.port, family: 'IPv6' });
    const conn = closeAfter(t, await connect('::1', server.address.port));
    await conn.write('a\n');
    assert.equal(await within(conn.readLine(), 5_000, 'reply'), 'six:a');
  });

  test('listen passes host, port and backlog to the socket', T, async (t) => {
    const spy = t.mock.method(net.Server.prototype, 'listen');
    const server = await listen({ backlog: 7 }, () => {});
    t.after(() => server.close({ timeout: 100 }));
    assert.deepEqual(spy.mock.calls[0]?.arguments[0], {
      host: '127.0.0.1',
      port: 0,
      backlog: 7,
      ipv6Only: false,
    });
  });

  test('listen on a port in use rejects with ListenError EADDRINUSE', T, async (t) => {
    const first = await listen({}, () => {});
    t.after(() => first.close({ timeout: 1_000 }));
    const err = await listen({ port: first.address.port }, () => {}).catch((e: unknown) => e);
    assert.ok(err instanceof ListenError, String(err));
    assert.equal(err.code, 'WK_ERR_LISTEN');
    assert.equal(err.systemCode, 'EADDRINUSE');
  });

  test('listen rejects a bad port or a missing handler', async () => {
    await assert.rejects(
      listen({ port: 99_999 }, () => {}),
      RangeError,
    );
    await assert.rejects(listen({}, undefined as unknown as () => void), TypeError);
  });

  test('the connection closes when the handler returns', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.write('bye\n');
    });
    t.after(() => server.close({ timeout: 100 }));
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    assert.equal(await within(conn.readLine(), 5_000, 'line'), 'bye');
    assert.equal(await within(conn.readLine(), 5_000, 'EOF'), null);
  });

  test('a handler sees the client half-close and can still answer', T, async (t) => {
    const server = await listen({}, async (conn) => {
      const body = await conn.readAll();
      await conn.write(`got ${body.length} bytes\n`);
    });
    t.after(() => server.close({ timeout: 100 }));
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await conn.write(Buffer.alloc(100_000));
    await conn.end();
    assert.equal(await within(conn.readLine(), 5_000, 'answer'), 'got 100000 bytes');
  });

  test(
    'a handler that throws is reported through onError, its connection closes, the server goes on',
    T,
    async (t) => {
      const reported: Array<{ error: unknown; port: number }> = [];
      const server = await listen(
        {
          onError: (error, stream) => reported.push({ error, port: stream.remote.port }),
        },
        async (conn) => {
          const line = await conn.readLine();
          if (line === 'boom') throw new Error('handler failed');
          await conn.write(`ok:${line}\n`);
        },
      );
      t.after(() => server.close({ timeout: 100 }));
      const bad = closeAfter(t, await connect('127.0.0.1', server.address.port));
      const badPort = bad.local.port;
      await bad.write('boom\n');
      // The peer sees the connection go away (a reset or an EOF), never a hang.
      const outcome = await within(
        bad.readLine().then(
          (line) => ({ line }),
          (error: unknown) => ({ error }),
        ),
        5_000,
        'read from the failed connection',
      );
      assert.ok(!('line' in outcome) || outcome.line === null, JSON.stringify(outcome));
      assert.equal(reported.length, 1);
      assert.deepEqual(reported, [{ error: new Error('handler failed'), port: badPort }]);
      const good = closeAfter(t, await connect('127.0.0.1', server.address.port));
      await good.write('fine\n');
      assert.equal(await within(good.readLine(), 5_000, 'next client'), 'ok:fine');
    },
  );

  // Regression: an onError that threw escaped as an unhandled rejection (a process crash).
  test('an onError that throws does not take the server down', T, async (t) => {
    const server = await listen(
      {
        onError: () => {
          throw new Error('reporter failed too');
        },
      },
      async (conn) => {
        if ((await conn.readLine()) === 'boom') throw new Error('handler failed');
        await conn.write('ok\n');
      },
    );
    t.after(() => server.close({ timeout: 100 }));
    const bad = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await bad.write('boom\n');
    await within(
      bad.read().catch(() => Buffer.alloc(0)),
      5_000,
      'failed connection',
    );
    await within(bad.closed, 5_000, 'failed connection closes');
    const good = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await good.write('x\n');
    assert.equal(await within(good.readLine(), 5_000, 'next client'), 'ok');
  });

  test('server.connections counts the live connections', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.readAll();
    });
    t.after(() => server.close({ timeout: 100 }));
    assert.equal(server.connections, 0);
    const a = closeAfter(t, await connect('127.0.0.1', server.address.port));
    const b = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await within(
      waitFor(() => server.connections === 2),
      5_000,
      'two connections',
    );
    a.close();
    await within(
      waitFor(() => server.connections === 1),
      5_000,
      'one connection',
    );
    b.close();
    await within(
      waitFor(() => server.connections === 0),
      5_000,
      'no connection',
    );
  });

  test('server.address stays readable after close', T, async () => {
    const server = await listen({}, () => {});
    const { port } = server.address;
    await server.close();
    assert.equal(server.address.port, port);
  });
});

describe('Server.close', () => {
  test('close stops accepting, lets running handlers finish, and resolves', T, async (t) => {
    let finished = false;
    const server = await listen({}, async (conn) => {
      await conn.readLine();
      await sleep(300);
      await conn.write('done\n');
      finished = true;
    });
    const { port } = server.address;
    const conn = closeAfter(t, await connect('127.0.0.1', port));
    await conn.write('go\n');
    await within(
      waitFor(() => server.connections === 1),
      5_000,
      'accepted',
    );
    const closing = server.close({ timeout: 5_000 });
    assert.equal(server.signal.aborted, true);
    await sleep(50);
    const refused = await connect('127.0.0.1', port, { timeout: 2_000 }).catch((e: unknown) => e);
    assert.ok(refused instanceof ConnectError, String(refused));
    assert.equal(refused.systemCode, 'ECONNREFUSED');
    assert.equal(await within(conn.readLine(), 5_000, 'the last answer'), 'done');
    await within(closing, 5_000, 'close');
    assert.equal(finished, true);
    assert.equal(server.connections, 0);
  });

  test('close force-closes the connections still open at the deadline', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.readAll();
    });
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await within(
      waitFor(() => server.connections === 1),
      5_000,
      'accepted',
    );
    const started = Date.now();
    await within(server.close({ timeout: 400 }), 5_000, 'close');
    const took = Date.now() - started;
    assert.ok(took >= 350, `closed after ${took} ms, before the deadline`);
    assert.equal(server.connections, 0);
    // The client sees the connection end (a reset), not a hang.
    await within(
      conn.read().catch(() => Buffer.alloc(0)),
      5_000,
      'client read',
    );
  });

  // Regression: close() waited for every handler even after destroying its connection.
  test('close resolves at the deadline even when a handler never returns', T, async (t) => {
    const server = await listen({}, async () => {
      await new Promise(() => {});
    });
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await within(
      waitFor(() => server.connections === 1),
      5_000,
      'accepted',
    );
    await within(server.close({ timeout: 200 }), 5_000, 'close');
    assert.equal(server.connections, 0);
    await within(
      conn.read().catch(() => Buffer.alloc(0)),
      5_000,
      'client sees the end',
    );
  });

  // Regression: abort() after the handler's close() hit libuv's EINVAL and left the socket open,
  // so close() never resolved.
  test(
    'close resolves at the deadline when a finished handler is still flushing to a peer that does not read',
    T,
    async (t) => {
      const server = await listen({}, async (conn) => {
        void conn.write(Buffer.alloc(32 * 1024 * 1024)).catch(() => {});
      });
      const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
      conn.socket.pause();
      await sleep(200);
      await within(server.close({ timeout: 300 }), 5_000, 'close');
      assert.equal(server.connections, 0);
    },
  );

  test('close waits for the last bytes of a finished handler to flush', T, async (t) => {
    const size = 8 * 1024 * 1024;
    let returned!: () => void;
    const handlerReturned = new Promise<void>((resolve) => {
      returned = resolve;
    });
    const server = await listen({}, async (conn) => {
      void conn.write(Buffer.alloc(size, 'z')).catch(() => {});
      returned();
    });
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    await handlerReturned;
    const closing = server.close({ timeout: 10_000 });
    await sleep(200);
    const got = await within(conn.readExactly(size), 15_000, 'reading it all');
    assert.equal(got.length, size);
    await within(closing, 10_000, 'close');
  });

  test('close is safe to call twice', T, async () => {
    const server = await listen({}, () => {});
    const first = server.close();
    const second = server.close();
    assert.equal(first, second);
    await within(first, 5_000, 'close');
  });

  test('a client left waiting on a closed server sees the connection end', T, async (t) => {
    const server = await listen({}, async (conn) => {
      await conn.readLine();
    });
    const conn = closeAfter(t, await connect('127.0.0.1', server.address.port));
    const pending = conn.readLine().catch((e: unknown) => e);
    await within(server.close({ timeout: 100 }), 5_000, 'close');
    assert.notEqual(await stateAfter(pending, 3_000), 'pending');
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10);
}
