import assert from 'node:assert/strict';
import { pbkdf2, pbkdf2Sync } from 'node:crypto';
import { describe, test } from 'node:test';
import { AbortError, DnsError, TimeoutError } from '../../src/errors.js';
import { resolve, resolveDefaults, reverse, reverseDefaults } from '../../src/net/index.js';

const T = { timeout: 15_000 };

/**
 * Keeps every libuv threadpool thread busy for about `ms` milliseconds. getaddrinfo runs on that
 * pool, so a lookup started meanwhile waits: a slow resolver without a real DNS server.
 */
function occupyThreadpool(ms: number): Promise<void> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const started = performance.now();
  pbkdf2Sync('calibrate', 'salt', 20_000, 32, 'sha256');
  const perIteration = (performance.now() - started) / 20_000;
  const iterations = Math.ceil(ms / perIteration);
  const jobs = Array.from(
    { length: threads },
    () =>
      new Promise<void>((done, fail) =>
        pbkdf2('busy', 'salt', iterations, 32, 'sha256', (err) => (err ? fail(err) : done())),
      ),
  );
  return Promise.all(jobs).then(() => undefined);
}

describe('resolve', () => {
  test('defaults: both families, 10 s timeout, every key present', T, () => {
    assert.deepEqual(resolveDefaults, { family: 0, timeout: 10_000, signal: undefined });
    assert.deepEqual(reverseDefaults, { timeout: 10_000, signal: undefined });
  });

  test("resolve('localhost') includes 127.0.0.1 from /etc/hosts", T, async () => {
    const addresses = await resolve('localhost');
    assert.ok(addresses.length > 0);
    assert.ok(
      addresses.some((a) => a.address === '127.0.0.1' && a.family === 4),
      JSON.stringify(addresses),
    );
    const unique = new Set(addresses.map((a) => a.address));
    assert.equal(unique.size, addresses.length, 'no duplicates');
  });

  test('family 4 returns only IPv4 addresses', T, async () => {
    const addresses = await resolve('localhost', { family: 4 });
    assert.ok(addresses.length > 0);
    assert.ok(addresses.every((a) => a.family === 4 && !a.address.includes(':')));
  });

  test('family 6 returns only IPv6 addresses, or DnsError where the name has none', T, async () => {
    try {
      const addresses = await resolve('localhost', { family: 6 });
      assert.ok(addresses.every((a) => a.family === 6 && a.address.includes(':')));
    } catch (err) {
      // This machine's /etc/hosts may give localhost no ::1 line.
      assert.ok(err instanceof DnsError);
      assert.equal(err.systemCode, 'ENOTFOUND');
    }
  });

  test('an IP literal resolves to itself', T, async () => {
    assert.deepEqual(await resolve('127.0.0.1'), [{ address: '127.0.0.1', family: 4 }]);
    assert.deepEqual(await resolve('::1'), [{ address: '::1', family: 6 }]);
    assert.deepEqual(await resolve('::1', { family: 6 }), [{ address: '::1', family: 6 }]);
  });

  test('an IP literal of the other family rejects with DnsError EAI_ADDRFAMILY', T, async () => {
    await assert.rejects(resolve('::1', { family: 4 }), { name: 'DnsError', systemCode: 'EAI_ADDRFAMILY' });
  });

  test('a name that does not exist rejects with DnsError ENOTFOUND', T, async () => {
    const err = await resolve('nonexistent.invalid').catch((e: unknown) => e);
    assert.ok(err instanceof DnsError, String(err));
    assert.equal(err.code, 'WK_ERR_DNS');
    assert.equal(err.systemCode, 'ENOTFOUND');
    assert.equal(err.hostname, 'nonexistent.invalid');
  });

  test('a lookup slower than timeout rejects with TimeoutError in the dns phase', T, async () => {
    const busy = occupyThreadpool(300);
    try {
      const started = Date.now();
      const err = await resolve('localhost', { timeout: 50 }).catch((e: unknown) => e);
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'dns');
      assert.equal(err.timeout, 50);
      assert.ok(Date.now() - started < 500, 'the timeout fired on time');
    } finally {
      await busy;
    }
  });

  test('aborting the signal rejects a pending lookup with AbortError', T, async () => {
    const busy = occupyThreadpool(300);
    try {
      const controller = new AbortController();
      const pending = resolve('localhost', { signal: controller.signal, timeout: 0 });
      setTimeout(() => controller.abort(new Error('stop')), 20);
      const err = await pending.catch((e: unknown) => e);
      assert.ok(err instanceof AbortError, String(err));
      assert.equal((err.cause as Error).message, 'stop');
    } finally {
      await busy;
    }
    await assert.rejects(resolve('localhost', { signal: AbortSignal.abort() }), AbortError);
  });

  test('bad arguments throw TypeError or RangeError', T, async () => {
    await assert.rejects(resolve(''), TypeError);
    await assert.rejects(resolve(42 as unknown as string), TypeError);
    await assert.rejects(resolve('localhost', { family: 5 as 4 }), RangeError);
    await assert.rejects(resolve('localhost', { timeout: -1 }), RangeError);
    await assert.rejects(resolve('localhost', { timeout: Number.NaN }), RangeError);
  });
});

describe('reverse', () => {
  test("reverse('127.0.0.1') includes 'localhost' from /etc/hosts", T, async () => {
    const names = await reverse('127.0.0.1');
    assert.ok(names.includes('localhost'), JSON.stringify(names));
  });

  test('a string that is not an IP address throws TypeError', T, async () => {
    await assert.rejects(reverse('localhost'), TypeError);
    await assert.rejects(reverse('999.1.1.1'), TypeError);
    await assert.rejects(reverse('127.0.0.1', { timeout: -5 }), RangeError);
  });

  test('a reverse lookup slower than timeout rejects with TimeoutError', T, async () => {
    const busy = occupyThreadpool(300);
    try {
      await assert.rejects(reverse('127.0.0.1', { timeout: 50 }), { name: 'TimeoutError', phase: 'dns' });
    } finally {
      await busy;
    }
  });
});
