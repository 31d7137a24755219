import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { AbortError, ConnectError, TimeoutError } from '../../src/errors.js';
import { serve, T } from './helpers.js';

describe('timeouts and cancellation', () => {
  test('a server stalling before the head is a TimeoutError in phase response', T, async (t) => {
    const { url } = await serve(t, () => {});
    const http = new Session({ baseUrl: url, timeout: { response: 200 } });
    t.after(() => http.close());
    const started = performance.now();
    await assert.rejects(http.get('/slow'), (err) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'response');
      assert.equal(err.timeout, 200);
      assert.match(err.message, /GET http:\/\/127\.0\.0\.1:\d+\/slow timed out after 200 ms/);
      return true;
    });
    assert.ok(performance.now() - started < 3_000);
  });

  test('a server stalling mid-body is a TimeoutError in phase idle', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one, then nothing');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const res = await http.get('/', { timeout: { idle: 200 } });
    await assert.rejects(res.text(), (err) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'idle');
      return true;
    });
  });

  test('timeout.total covers redirects and the body; phase total', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/hop') {
        setTimeout(() => res.writeHead(302, { location: '/drip' }).end(), 150);
        return;
      }
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const http = new Session({ baseUrl: url, timeout: { total: 400 } });
    t.after(() => http.close());
    const started = performance.now();
    const res = await http.get('/hop');
    assert.equal(res.redirects.length, 1);
    await assert.rejects(res.text(), (err) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'total');
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 380 && took < 3_000, `took ${took} ms`);
  });

  test(
    'timeout.total fails a call waiting for its head, and one still queued for a connection, on time',
    T,
    async (t) => {
      const { url } = await serve(t, (req, res) => {
        if (req.url === '/ok') res.end('ok');
        // Anything else: no answer at all.
      });
      const http = new Session({ baseUrl: url, connections: 1 });
      t.after(() => http.close());
      // The one connection stalls with no deadline of its own; the second call waits behind it.
      const stalled = http.get('/stall', { timeout: { total: 0 } });
      stalled.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      await assert.rejects(http.get('/queued', { timeout: { total: 300 } }), (err) => {
        assert.ok(err instanceof TimeoutError, String(err));
        assert.equal(err.phase, 'total');
        return true;
      });
      const took = performance.now() - started;
      assert.ok(took >= 280 && took < 1_500, `took ${took} ms`);
      // Waiting for a head: the call alone on a fresh session.
      const other = new Session({ baseUrl: url, timeout: { total: 300 } });
      t.after(() => other.close());
      await assert.rejects(
        other.get('/stall'),
        (err) => err instanceof TimeoutError && err.phase === 'total',
      );
      // The timed-out request's connection is gone; the next call gets a new one.
      const res = await other.get('/ok');
      assert.equal(await res.text(), 'ok');
      assert.equal(res.timings.reused, false);
    },
  );

  test('a total of a second or more (on the shared sweep) fires, at most a sweep late', T, async (t) => {
    const { url } = await serve(t, () => {});
    const http = new Session({ baseUrl: url, timeout: { total: 1_000 } });
    t.after(() => http.close());
    const started = performance.now();
    const calls = [http.get('/a'), http.get('/b', { timeout: { total: 1_200 } })];
    const settled = await Promise.allSettled(calls);
    const took = performance.now() - started;
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      const err = (s as PromiseRejectedResult).reason as TimeoutError;
      assert.ok(err instanceof TimeoutError && err.phase === 'total', String(err));
    }
    assert.ok(took >= 1_190 && took < 1_900, `took ${took} ms`);
  });

  test('a refused connection is a ConnectError with the system code', T, async () => {
    const { createServer } = await import('node:net');
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const http = new Session();
    await assert.rejects(http.get(`http://127.0.0.1:${port}/`), (err) => {
      assert.ok(err instanceof ConnectError, String(err));
      assert.equal(err.systemCode, 'ECONNREFUSED');
      assert.equal(err.port, port);
      return true;
    });
    await http.close();
  });

  test('the request signal and the session signal abort with AbortError', T, async (t) => {
    const { url } = await serve(t, () => {});
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const controller = new AbortController();
    const pending = http.get('/', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await assert.rejects(pending, (err) => {
      assert.ok(err instanceof AbortError, String(err));
      assert.equal((err.cause as Error).message, 'user gave up');
      return true;
    });
    await assert.rejects(http.get('/', { signal: AbortSignal.abort() }), AbortError);

    const sessionSignal = new AbortController();
    const scoped = new Session({ baseUrl: url, signal: sessionSignal.signal, timeout: { total: 0 } });
    t.after(() => scoped.close());
    const waiting = scoped.get('/');
    setTimeout(() => sessionSignal.abort(), 50);
    await assert.rejects(waiting, AbortError);
  });
});
