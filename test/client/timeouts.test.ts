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
