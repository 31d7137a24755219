import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { AbortError, ConnectError, SocketError, TimeoutError } from '../../src/errors.js';
import { retryAfter } from '../../src/client/retry.js';
import { readBody, serve, T } from './helpers.js';
import { freePort } from './proxy-peers.js';

/** Fast backoff so the tests measure wirekit, not the wait. */
const quick = { base: 5, max: 10 };

describe('retries', () => {
  test('a server failing twice with 503 then 200: retried, res.retries is 2', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      res.statusCode = hits <= 2 ? 503 : 200;
      res.end(hits <= 2 ? 'busy' : 'ok');
    });
    const http = new Session({ baseUrl: url, retry: { limit: 2, backoff: quick } });
    t.after(() => http.close());
    const res = await http.get('/');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    assert.equal(res.retries, 2);
    assert.equal(hits, 3);
  });

  test('retries are off unless asked, and stop at the limit with the last response', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      res.statusCode = 503;
      res.end();
    });
    const off = new Session({ baseUrl: url });
    const two = new Session({ baseUrl: url, retry: 2 });
    t.after(() => Promise.all([off.close(), two.close()]));
    const once = await off.get('/');
    assert.equal(once.status, 503);
    assert.equal(once.retries, 0);
    assert.equal(hits, 1);
    hits = 0;
    const last = await two.get('/', { retry: { backoff: quick } });
    assert.equal(last.status, 503);
    assert.equal(last.retries, 2);
    assert.equal(hits, 3);
    hits = 0;
    const none = await two.get('/', { retry: 0 });
    assert.equal(none.retries, 0);
    assert.equal(hits, 1);
  });

  test('Retry-After in seconds is honoured', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      if (hits === 1) res.writeHead(503, { 'retry-after': '1' }).end();
      else res.end('ok');
    });
    const http = new Session({ baseUrl: url, retry: { limit: 1, backoff: quick } });
    t.after(() => http.close());
    const started = performance.now();
    const res = await http.get('/');
    const elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 950 && elapsed < 3_000, `waited ${elapsed} ms`);
  });

  test('Retry-After as an HTTP-date is honoured; a long one is capped by maxRetryAfter', T, async (t) => {
    let hits = 0;
    let retryAfterValue = '';
    const { url } = await serve(t, (_req, res) => {
      hits++;
      if (hits % 2 === 1) res.writeHead(429, { 'retry-after': retryAfterValue }).end();
      else res.end('ok');
    });
    const http = new Session({ baseUrl: url, retry: { limit: 1, backoff: quick } });
    t.after(() => http.close());
    // HTTP-dates have whole seconds: 2 s ahead waits between 1 and 2 s.
    retryAfterValue = new Date(Date.now() + 2_000).toUTCString();
    let started = performance.now();
    assert.equal((await http.get('/')).status, 200);
    let elapsed = performance.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 3_500, `waited ${elapsed} ms for an HTTP-date`);

    retryAfterValue = '3600';
    started = performance.now();
    const res = await http.get('/', { retry: { maxRetryAfter: 200 } });
    elapsed = performance.now() - started;
    assert.equal(res.status, 200);
    assert.ok(elapsed >= 180 && elapsed < 2_000, `waited ${elapsed} ms, capped at 200`);
  });

  test('Retry-After parsing: seconds, dates, garbage', () => {
    assert.equal(retryAfter('5', 60_000), 5_000);
    assert.equal(retryAfter(['2', '9'], 60_000), 2_000);
    assert.equal(retryAfter('120', 1_000), 1_000);
    assert.equal(retryAfter(new Date(Date.now() - 10_000).toUTCString(), 60_000), 0);
    assert.equal(retryAfter('soon', 60_000), undefined);
    assert.equal(retryAfter('-1', 60_000), undefined);
    assert.equal(retryAfter(undefined, 60_000), undefined);
  });

  test('a POST is never retried by default; it is when methods says so', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, async (req, res) => {
      hits++;
      await readBody(req);
      res.statusCode = 503;
      res.end();
    });
    const http = new Session({ baseUrl: url, retry: { limit: 2, backoff: quick } });
    t.after(() => http.close());
    const res = await http.post('/', { json: { a: 1 } });
    assert.equal(res.status, 503);
    assert.equal(res.retries, 0);
    assert.equal(hits, 1);
    hits = 0;
    const asked = await http.post('/', { json: { a: 1 }, retry: { methods: ['POST'] } });
    assert.equal(asked.retries, 2);
    assert.equal(hits, 3);
  });

  test('a streamed request body is never retried', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, async (req, res) => {
      hits++;
      await readBody(req);
      res.statusCode = 503;
      res.end();
    });
    const http = new Session({ baseUrl: url, retry: { limit: 3, backoff: quick } });
    t.after(() => http.close());
    const res = await http.put('/', { body: Readable.from([Buffer.from('a'), Buffer.from('b')]) });
    assert.equal(res.status, 503);
    assert.equal(res.retries, 0);
    assert.equal(hits, 1);
    hits = 0;
    const replayable = await http.put('/', { body: 'ab' });
    assert.equal(replayable.retries, 3);
    assert.equal(hits, 4);
  });

  test('a connection reset before the response (ECONNRESET, socket closed) is retried', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (req, res) => {
      hits++;
      if (hits === 1) {
        req.socket.resetAndDestroy();
        return;
      }
      if (hits === 2) {
        req.socket.destroy();
        return;
      }
      res.end('ok');
    });
    const http = new Session({ baseUrl: url, retry: { limit: 2, backoff: quick } });
    t.after(() => http.close());
    const errors: unknown[] = [];
    const res = await http.get('/', {});
    assert.equal(await res.text(), 'ok');
    assert.equal(res.retries, 2);
    assert.equal(hits, 3);
    const watched = new Session({
      baseUrl: url,
      retry: { limit: 1, backoff: quick },
      hooks: { beforeRetry: [({ error }) => void errors.push(error)] },
    });
    t.after(() => watched.close());
    hits = 1; // the next attempt is closed before its response
    assert.equal((await watched.get('/')).retries, 1);
    assert.ok(errors[0] instanceof SocketError, String(errors[0]));
  });

  test('a refused connection is retried, then its ConnectError is the answer', T, async (t) => {
    const port = await freePort();
    const seen: unknown[] = [];
    const http = new Session({
      retry: { limit: 2, backoff: quick },
      hooks: { beforeRetry: [({ error }) => void seen.push(error)] },
    });
    t.after(() => http.close());
    await assert.rejects(http.get(`http://127.0.0.1:${port}/`), (err) => {
      assert.ok(err instanceof ConnectError && err.systemCode === 'ECONNREFUSED', String(err));
      return true;
    });
    assert.equal(seen.length, 2);
  });

  test('4xx other than 408/413/429 are not retried', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      res.statusCode = 404;
      res.end();
    });
    const http = new Session({ baseUrl: url, retry: { limit: 2, backoff: quick } });
    t.after(() => http.close());
    assert.equal((await http.get('/')).retries, 0);
    assert.equal(hits, 1);
  });

  test('the total timeout covers every attempt and wait: TimeoutError phase total', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(503, { 'retry-after': '5' }).end();
    });
    const http = new Session({ baseUrl: url, retry: { limit: 5 }, timeout: { total: 400 } });
    t.after(() => http.close());
    const started = performance.now();
    await assert.rejects(http.get('/'), (err) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'total');
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 350 && elapsed < 2_000, `took ${elapsed} ms`);
  });

  test('a signal cuts the wait short: AbortError', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(503, { 'retry-after': '5' }).end();
    });
    const http = new Session({ baseUrl: url, retry: 3, timeout: { total: 0 } });
    t.after(() => http.close());
    const started = performance.now();
    await assert.rejects(http.get('/', { signal: AbortSignal.timeout(200) }), AbortError);
    assert.ok(performance.now() - started < 2_000);
  });

  test('beforeRetry sees each retry: attempt 1, 2, the status and the wait', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (_req, res) => {
      hits++;
      if (hits <= 2) res.writeHead(hits === 1 ? 502 : 429, hits === 2 ? { 'retry-after': '0' } : {}).end();
      else res.end('ok');
    });
    const calls: { attempt: number; status: number | undefined; delay: number; sent: number }[] = [];
    const http = new Session({
      baseUrl: url,
      retry: { limit: 3, backoff: () => 20 },
      hooks: {
        beforeRetry: [
          ({ attempt, status, delay, request }) =>
            void calls.push({ attempt, status, delay, sent: request.attempt }),
        ],
      },
    });
    t.after(() => http.close());
    const res = await http.get('/');
    assert.equal(res.retries, 2);
    assert.deepEqual(calls, [
      { attempt: 1, status: 502, delay: 20, sent: 0 },
      { attempt: 2, status: 429, delay: 0, sent: 1 },
    ]);
  });

  test('a retried hop keeps its place in the redirect chain', T, async (t) => {
    let flaky = 0;
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/start') res.writeHead(302, { location: '/flaky' }).end();
      else if (++flaky === 1) res.writeHead(503).end();
      else res.end('landed');
    });
    const http = new Session({ baseUrl: url, retry: { limit: 1, backoff: quick } });
    t.after(() => http.close());
    const res = await http.get('/start');
    assert.equal(await res.text(), 'landed');
    assert.equal(res.retries, 1);
    assert.deepEqual(
      res.redirects.map((r) => [r.status, new URL(r.url).pathname, new URL(r.location).pathname]),
      [[302, '/start', '/flaky']],
    );
  });

  test('bad retry options are errors at construction', () => {
    assert.throws(() => new Session({ retry: -1 }), RangeError);
    assert.throws(() => new Session({ retry: 1.5 }), RangeError);
    assert.throws(() => new Session({ retry: { maxRetryAfter: -5 } }), RangeError);
    assert.throws(() => new Session({ retry: { backoff: 'fast' as never } }), TypeError);
    assert.throws(() => new Session({ retry: { statusCodes: ['503' as never] } }), TypeError);
    assert.throws(() => new Session({ retry: 'yes' as never }), TypeError);
  });
});
