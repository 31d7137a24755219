import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConcurrentReadError,
  IncompleteReadError,
  LimitExceededError,
  SocketError,
  StreamClosedError,
} from '../../src/errors.js';
import { Stream } from '../../src/net/index.js';
import { hasIpv6, sleep } from '../helpers.js';
import { collect, socketPair, stateAfter, streamAndPeer, within } from './tcp-helpers.js';

const T = { timeout: 20_000 };
const KiB = 1024;

/** Writes `chunks` one by one from a raw socket, letting each reach the other end first. */
async function trickle(peer: import('node:net').Socket, chunks: Array<string | Buffer>): Promise<void> {
  for (const chunk of chunks) {
    peer.write(chunk);
    await sleep(15);
  }
}

describe('Stream.read', () => {
  test('read() returns the bytes already buffered as soon as any arrive', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const pending = stream.read();
    assert.equal(await stateAfter(pending, 100), 'pending');
    peer.write('abc');
    assert.equal((await within(pending, 5_000, 'read')).toString(), 'abc');
  });

  test('read(n) returns at most n bytes and leaves the rest buffered', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.write('hello world');
    assert.equal((await stream.read(5)).toString(), 'hello');
    assert.equal(stream.bufferedLength, 6);
    assert.equal((await stream.read(100)).toString(), ' world');
  });

  test('read() resolves with an empty buffer at end of stream, and again after', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end('last');
    assert.equal((await stream.read()).toString(), 'last');
    assert.equal((await within(stream.read(), 5_000, 'read at EOF')).length, 0);
    assert.equal((await stream.read()).length, 0);
    assert.equal(stream.atEof, true);
  });

  test('read rejects a non-positive size with RangeError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    await assert.rejects(stream.read(0), RangeError);
    await assert.rejects(stream.read(-1), RangeError);
    await assert.rejects(stream.read(Number.NaN), RangeError);
  });
});

describe('Stream.readExactly', () => {
  test('readExactly assembles n bytes that arrive in several chunks', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const pending = stream.readExactly(10);
    await trickle(peer, ['abc', 'defg', 'hijkl']);
    assert.equal((await within(pending, 5_000, 'readExactly')).toString(), 'abcdefghij');
    assert.equal((await stream.read()).toString(), 'kl');
  });

  test('readExactly rejects with IncompleteReadError carrying partial and expected at EOF', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end('only7b!');
    const err = await stream.readExactly(10).then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(err.code, 'WK_ERR_INCOMPLETE_READ');
    assert.equal(err.partial.toString(), 'only7b!');
    assert.equal(err.expected, 10);
  });

  // Regression: with nothing buffered at EOF this threw a TypeError from inside the buffer code.
  test('readExactly at EOF with nothing buffered rejects with an empty partial', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end();
    const err = await within(stream.readExactly(4), 5_000, 'readExactly').catch((e: unknown) => e);
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(err.partial.length, 0);
    assert.equal(err.expected, 4);
  });

  test('readExactly(0) resolves with an empty buffer without waiting', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    assert.equal((await within(stream.readExactly(0), 1_000, 'readExactly(0)')).length, 0);
  });

  test('readExactly rejects a negative or fractional size with RangeError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    await assert.rejects(stream.readExactly(-1), RangeError);
    await assert.rejects(stream.readExactly(1.5), RangeError);
  });

  test('a peer reset during readExactly rejects it with SocketError ECONNRESET', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const pending = stream.readExactly(1000);
    peer.write('x'.repeat(100));
    await sleep(50);
    peer.resetAndDestroy();
    const err = await within(pending, 5_000, 'readExactly after reset').catch((e: unknown) => e);
    assert.ok(err instanceof SocketError, String(err));
    assert.equal(err.systemCode, 'ECONNRESET');
    // The failure sticks: a read the buffered bytes cannot satisfy rejects too instead of waiting.
    await assert.rejects(within(stream.readExactly(1000), 2_000, 'second read'), SocketError);
  });
});

describe('Stream.readUntil', () => {
  test('readUntil returns the bytes up to and including a separator split across chunks', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const pending = stream.readUntil('\r\n\r\n');
    await trickle(peer, ['GET / HTTP/1.1\r', '\nHost: x\r\n\r', '\nbody']);
    const head = await within(pending, 5_000, 'readUntil');
    assert.equal(head.toString(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal((await stream.read()).toString(), 'body');
  });

  test('readUntil accepts a Uint8Array separator', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.write(Buffer.from([1, 2, 0, 0, 3, 0]));
    const record = await stream.readUntil(new Uint8Array([0, 0]));
    assert.deepEqual([...record], [1, 2, 0, 0]);
  });

  test('readUntil rejects with LimitExceededError once 64 KiB pass without the separator', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const sent = Buffer.alloc(70 * KiB, 'a');
    const pending = stream.readUntil('\n');
    peer.write(sent);
    const err = await within(pending, 5_000, 'readUntil').catch((e: unknown) => e);
    assert.ok(err instanceof LimitExceededError, String(err));
    assert.equal(err.code, 'WK_ERR_LIMIT_EXCEEDED');
    assert.equal(err.limit, 64 * KiB);
    // Nothing is lost: every byte that arrived is still readable, and so is what follows.
    peer.write('tail\n');
    const rest = await within(stream.readExactly(sent.length + 5), 5_000, 'rest');
    assert.ok(rest.subarray(0, sent.length).equals(sent));
    assert.equal(rest.subarray(sent.length).toString(), 'tail\n');
  });

  test('readUntil allows a record of exactly `limit` bytes and rejects one byte more', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t, { limit: 16 });
    peer.write(`${'x'.repeat(15)}\n${'y'.repeat(16)}\n`);
    await sleep(50);
    assert.equal((await stream.readUntil('\n')).length, 16);
    await assert.rejects(stream.readUntil('\n'), LimitExceededError);
    assert.equal((await stream.readExactly(17)).toString(), `${'y'.repeat(16)}\n`);
  });

  test('readUntil rejects with LimitExceededError past a configured limit while waiting', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t, { limit: 100 });
    const outcome = stream.readUntil('END').catch((e: unknown) => e);
    await trickle(peer, ['a'.repeat(60), 'b'.repeat(60)]);
    const err = await within(outcome, 5_000, 'readUntil');
    assert.ok(err instanceof LimitExceededError, String(err));
    assert.equal(err.limit, 100);
    assert.equal(stream.bufferedLength, 120);
  });

  test('readUntil rejects with IncompleteReadError holding the rest when the stream ends', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end('a;b');
    assert.equal((await stream.readUntil(';')).toString(), 'a;');
    const err = await stream.readUntil(';').catch((e: unknown) => e);
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(err.partial.toString(), 'b');
    assert.equal(err.expected, undefined);
  });

  // Regression: like readExactly, an empty buffer at EOF threw a TypeError.
  test('readUntil at EOF with nothing buffered rejects with IncompleteReadError', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end();
    const err = await within(stream.readUntil(';'), 5_000, 'readUntil').catch((e: unknown) => e);
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(err.partial.length, 0);
  });

  test('readUntil rejects an empty separator with RangeError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    await assert.rejects(stream.readUntil(''), RangeError);
  });
});

describe('Stream.readLine and lines()', () => {
  test('readLine strips \\n and \\r\\n and returns the last unterminated line, then null', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end('one\r\ntwo\n\nthree');
    assert.equal(await stream.readLine(), 'one');
    assert.equal(await stream.readLine(), 'two');
    assert.equal(await stream.readLine(), '');
    assert.equal(await stream.readLine(), 'three');
    assert.equal(await stream.readLine(), null);
    assert.equal(await stream.readLine(), null);
  });

  test('readLine decodes a UTF-8 character split across chunks', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const bytes = Buffer.from('héllo wörld 🎉\r\n');
    const pending = stream.readLine();
    await trickle(peer, [
      bytes.subarray(0, 2),
      bytes.subarray(2, 14),
      bytes.subarray(14, 17),
      bytes.subarray(17),
    ]);
    assert.equal(await within(pending, 5_000, 'readLine'), 'héllo wörld 🎉');
  });

  test('readLine rejects with LimitExceededError for a line longer than the limit', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t, { limit: 1000 });
    peer.write(`${'z'.repeat(1500)}\nnext\n`);
    await sleep(50);
    await assert.rejects(stream.readLine(), LimitExceededError);
    assert.equal((await stream.readExactly(1501)).length, 1501);
    assert.equal(await stream.readLine(), 'next');
  });

  test('lines() yields every line and ends at end of stream', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    void trickle(peer, ['alpha\nbe', 'ta\r\ngam', 'ma']).then(() => peer.end());
    const lines: string[] = [];
    await within(
      (async () => {
        for await (const line of stream.lines()) lines.push(line);
      })(),
      5_000,
      'lines()',
    );
    assert.deepEqual(lines, ['alpha', 'beta', 'gamma']);
  });
});

describe('Stream async iteration', () => {
  test('for await yields chunks until end of stream, in order and complete', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const sent = Buffer.alloc(512 * KiB);
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 31) & 0xff;
    peer.end(sent);
    const chunks: Buffer[] = [];
    await within(
      (async () => {
        for await (const chunk of stream) chunks.push(chunk);
      })(),
      10_000,
      'iteration',
    );
    assert.ok(chunks.length > 0);
    assert.ok(Buffer.concat(chunks).equals(sent));
  });

  test('readAll rejects with LimitExceededError past its limit', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.end('x'.repeat(200));
    await assert.rejects(stream.readAll(100), LimitExceededError);
  });
});

describe('Stream reader concurrency and flow control', () => {
  test(
    'a second read while one waits rejects with ConcurrentReadError; the first still resolves',
    T,
    async (t) => {
      const { stream, peer } = await streamAndPeer(t);
      const first = stream.readLine();
      const err = await stream.read().catch((e: unknown) => e);
      assert.ok(err instanceof ConcurrentReadError, String(err));
      assert.equal(err.code, 'WK_ERR_CONCURRENT_READ');
      await assert.rejects(stream.readExactly(1), ConcurrentReadError);
      peer.write('ok\n');
      assert.equal(await within(first, 5_000, 'first read'), 'ok');
    },
  );

  test(
    'the stream stops reading the socket once twice the limit is buffered and nobody reads',
    T,
    async (t) => {
      const { stream, peer } = await streamAndPeer(t, { limit: 64 * KiB });
      const sent = Buffer.alloc(16 * 1024 * KiB, 'q');
      const write = new Promise<void>((resolve) => peer.write(sent, () => resolve()));
      await within(
        (async () => {
          while (stream.bufferedLength < 128 * KiB) await sleep(10);
        })(),
        10_000,
        'the high-water mark',
      );
      await sleep(300);
      // Bounded by the 128 KiB high-water mark plus at most one socket read.
      assert.ok(stream.bufferedLength <= 128 * KiB + 64 * KiB, `buffered ${stream.bufferedLength}`);
      assert.equal(await stateAfter(write, 50), 'pending');
      const got = await within(stream.readExactly(sent.length), 15_000, 'reading it all');
      assert.ok(got.equals(sent));
      await within(write, 5_000, 'the peer write');
    },
  );

  test('the Stream constructor rejects a limit that is not a positive integer', async () => {
    const [a, b] = await socketPair();
    try {
      assert.throws(() => new Stream(a, { limit: 0 }), RangeError);
      assert.throws(() => new Stream(a, { limit: 1.5 }), RangeError);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

describe('Stream.write', () => {
  test('write sends strings as UTF-8 and Uint8Arrays as bytes', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const received = collect(peer, 9);
    await stream.write('é€');
    await stream.write(new Uint8Array([0, 255, 10, 13]));
    const got = await received;
    assert.deepEqual([...got], [...Buffer.from('é€'), 0, 255, 10, 13]);
  });

  test('write stays pending while the peer does not read, and resolves once it drains', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.pause();
    const big = Buffer.alloc(8 * 1024 * KiB, 'w');
    let writes = 0;
    let pending: Promise<void> | undefined;
    // Fill the kernel buffers (both ends) and node's, until a write stops resolving at once.
    for (; writes < 64; writes++) {
      const write = stream.write(big);
      if ((await stateAfter(write, 300)) === 'pending') {
        pending = write;
        break;
      }
    }
    assert.ok(pending !== undefined, 'every write resolved although the peer never read');
    assert.ok(stream.writableLength > 0);
    assert.equal(await stateAfter(pending, 300), 'pending');
    const total = (writes + 1) * big.length;
    const received = collect(peer, total, 30_000);
    await within(pending, 30_000, 'write after the peer read');
    assert.equal((await received).length, total);
  });

  test('write after close() rejects with StreamClosedError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    stream.close();
    const err = await stream.write('late').catch((e: unknown) => e);
    assert.ok(err instanceof StreamClosedError, String(err));
    assert.equal(err.code, 'WK_ERR_STREAM_CLOSED');
  });

  test('write after end() rejects with StreamClosedError', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    await stream.end();
    await assert.rejects(stream.write('late'), StreamClosedError);
  });

  test('write after the peer reset the connection rejects with SocketError', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.resetAndDestroy();
    // The reset is seen on the next socket event: read until the stream fails.
    await stream.read().catch(() => {});
    const err = await within(stream.write('x'), 5_000, 'write').catch((e: unknown) => e);
    assert.ok(err instanceof SocketError || err instanceof StreamClosedError, String(err));
  });
});

describe('Stream.end, close and abort', () => {
  test('end() half-closes: the peer sees EOF, still answers, and we read the answer', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const request = collect(peer);
    await stream.write('question');
    await stream.end();
    assert.equal((await request).toString(), 'question');
    peer.end('answer');
    assert.equal((await within(stream.readExactly(6), 5_000, 'answer')).toString(), 'answer');
    assert.equal(await stream.readLine(), null);
  });

  test('close() flushes queued bytes, then the peer sees EOF and `closed` resolves', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.pause();
    const big = Buffer.alloc(4 * 1024 * KiB, 'c');
    void stream.write(big).catch(() => {});
    stream.close();
    await sleep(200);
    const got = await collect(peer, Number.POSITIVE_INFINITY, 15_000);
    assert.equal(got.length, big.length);
    await within(stream.closed, 5_000, 'closed');
    assert.equal(stream.isClosed, true);
  });

  // Regression: after end() the socket is no longer `writable`, so close() destroyed it at once
  // and dropped whatever end() was still flushing.
  test('close() after end() still flushes the queued bytes', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    peer.pause();
    const big = Buffer.alloc(4 * 1024 * KiB, 'e');
    void stream.write(big).catch(() => {});
    void stream.end().catch(() => {});
    stream.close();
    await sleep(200);
    const got = await collect(peer, Number.POSITIVE_INFINITY, 15_000);
    assert.equal(got.length, big.length);
    await within(stream.closed, 5_000, 'closed');
  });

  test('close() resolves a pending read at end of stream instead of leaving it waiting', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    const pending = stream.readLine();
    stream.close();
    assert.equal(await within(pending, 5_000, 'readLine after close'), null);
  });

  test('abort() resets the connection: the peer gets ECONNRESET', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const failed = new Promise<NodeJS.ErrnoException>((resolve) => peer.once('error', resolve));
    peer.resume();
    stream.abort();
    const err = await within(failed, 5_000, 'peer error');
    assert.equal(err.code, 'ECONNRESET');
    await within(stream.closed, 5_000, 'closed');
  });

  // Regression: libuv refuses a reset once the FIN is queued (EINVAL) and node then never closed
  // the handle: `closed` never resolved and the process could not exit.
  test('abort() right after end() still closes the connection', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    const ended = stream.end().catch((e: unknown) => e);
    stream.abort();
    await within(stream.closed, 5_000, 'closed after abort');
    assert.equal(stream.isClosed, true);
    await within(ended, 5_000, 'end() settles');
  });

  test('abort() after close() still closes the connection', T, async (t) => {
    const { stream } = await streamAndPeer(t);
    stream.close();
    stream.abort();
    await within(stream.closed, 5_000, 'closed after abort');
  });

  test('Symbol.asyncDispose closes the stream', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    const ended = collect(peer);
    await within(stream[Symbol.asyncDispose](), 5_000, 'dispose');
    assert.equal(stream.isClosed, true);
    assert.equal((await ended).length, 0);
  });
});

describe('Stream addresses', () => {
  test('local and remote addresses over IPv4 mirror the peer socket', T, async (t) => {
    const { stream, peer } = await streamAndPeer(t);
    assert.deepEqual(stream.local, { address: '127.0.0.1', port: peer.remotePort, family: 'IPv4' });
    assert.deepEqual(stream.remote, { address: '127.0.0.1', port: peer.localPort, family: 'IPv4' });
    assert.equal(stream.encrypted, false);
  });

  test(
    'local and remote addresses over IPv6 ::1',
    {
      ...T,
      skip: !hasIpv6 && 'no IPv6 loopback',
    },
    async (t) => {
      const { stream, peer } = await streamAndPeer(t, {}, '::1');
      assert.deepEqual(stream.local, { address: '::1', port: peer.remotePort, family: 'IPv6' });
      assert.deepEqual(stream.remote, { address: '::1', port: peer.localPort, family: 'IPv6' });
      peer.write('v6\n');
      assert.equal(await stream.readLine(), 'v6');
    },
  );
});
