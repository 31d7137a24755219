import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { Response, Session } from '../../src/client/index.js';
import { HttpStatusError, TooManyRedirectsError } from '../../src/errors.js';
import { serve, T } from './helpers.js';

const quick = { base: 5, max: 10 };

describe('hooks', () => {
  test(
    'the order on a redirect and a retry: beforeRequest, beforeRedirect, beforeRetry, afterResponse',
    T,
    async (t) => {
      let flaky = 0;
      const { url } = await serve(t, (req, res) => {
        if (req.url === '/start') res.writeHead(302, { location: '/next' }).end();
        else if (++flaky === 1) res.writeHead(503).end();
        else res.end(`signed: ${req.headers['x-signed']}`);
      });
      const events: string[] = [];
      const http = new Session({
        baseUrl: url,
        retry: { limit: 1, backoff: quick },
        hooks: {
          beforeRequest: [
            async (request) => {
              await new Promise((resolve) => setImmediate(resolve));
              events.push(
                `request ${request.url.pathname} attempt ${request.attempt} redirects ${request.redirects}`,
              );
            },
            (request) => {
              request.headers['x-signed'] = `${request.method} ${request.url.pathname}`;
            },
          ],
          beforeRedirect: [
            (request, next) =>
              void events.push(`redirect ${request.url.pathname} -> ${next.url.pathname} ${next.status}`),
          ],
          beforeRetry: [
            ({ request, attempt, status }) =>
              void events.push(`retry ${request.url.pathname} #${attempt} after ${status}`),
          ],
          afterResponse: [
            (res, request) => void events.push(`response ${res.status} ${request.url.pathname}`),
          ],
        },
      });
      t.after(() => http.close());
      const res = await http.get('/start');
      assert.equal(await res.text(), 'signed: GET /next');
      assert.deepEqual(events, [
        'request /start attempt 0 redirects 0',
        'redirect /start -> /next 302',
        'request /next attempt 0 redirects 1',
        'retry /next #1 after 503',
        'request /next attempt 1 redirects 1',
        'response 200 /next',
      ]);
    },
  );

  test('beforeRequest changes only the outgoing hop; its headers are checked', T, async (t) => {
    const { url } = await serve(t, (req, res) => res.end(JSON.stringify(req.headers)));
    let mode = 'delete';
    const http = new Session({
      baseUrl: url,
      headers: { 'x-team': 'blue' },
      hooks: {
        beforeRequest: [
          (request) => {
            if (mode === 'delete') delete request.headers['x-team'];
            else request.headers['x-bad'] = 'a\r\nb';
          },
        ],
      },
    });
    t.after(() => http.close());
    const first = JSON.parse(await (await http.get('/')).text()) as Record<string, string>;
    assert.equal(first['x-team'], undefined);
    mode = 'keep';
    await assert.rejects(http.get('/'), TypeError);
    const plain = new Session({ baseUrl: url, headers: { 'x-team': 'blue' } });
    t.after(() => plain.close());
    mode = 'delete';
    const again = JSON.parse(await (await http.get('/')).text()) as Record<string, string>;
    assert.equal(again['x-team'], undefined);
    const untouched = JSON.parse(await (await plain.get('/')).text()) as Record<string, string>;
    assert.equal(untouched['x-team'], 'blue');
  });

  test('afterResponse may return a new Response (a token refresh); the old body is dumped', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      if (req.headers.authorization === 'Bearer fresh') res.end('welcome');
      else res.writeHead(401).end('expired');
    });
    let refreshed = 0;
    const http: Session = new Session({
      baseUrl: url,
      hooks: {
        afterResponse: [
          async (res, request) => {
            if (res.status !== 401 || request.headers.authorization === 'Bearer fresh') return;
            refreshed++;
            return http.get(request.url, { headers: { authorization: 'Bearer fresh' } });
          },
        ],
      },
    });
    t.after(() => http.close());
    const res = await http.get('/me', { headers: { authorization: 'Bearer old' } });
    assert.ok(res instanceof Response);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'welcome');
    assert.equal(refreshed, 1);
  });

  test(
    'a hook that throws rejects the call with its error; throwHttpErrors sees the final response',
    T,
    async (t) => {
      const { url } = await serve(t, (req, res) => {
        if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
        else res.writeHead(500).end('no');
      });
      const stop = new Error('not there');
      const http = new Session({
        baseUrl: url,
        throwHttpErrors: true,
        redirect: { max: 2 },
        hooks: {
          beforeRedirect: [
            (_request, next) => {
              if (next.url.pathname === '/elsewhere') throw stop;
            },
          ],
          afterResponse: [
            (res) => {
              if (res.status === 500 && res.url.endsWith('/boom')) throw stop;
            },
          ],
        },
      });
      t.after(() => http.close());
      await assert.rejects(http.get('/boom'), (err) => err === stop);
      await assert.rejects(http.get('/fail'), HttpStatusError);
      await assert.rejects(http.get('/loop'), TooManyRedirectsError);
    },
  );

  test('hooks must be arrays of functions', () => {
    assert.throws(() => new Session({ hooks: { beforeRequest: (() => {}) as never } }), TypeError);
    assert.throws(() => new Session({ hooks: { afterResponse: ['x' as never] } }), TypeError);
    assert.throws(() => new Session({ hooks: { beforeSend: [] } as never }), TypeError);
  });
});

describe('diagnostics_channel', () => {
  test('a subscriber sees request, redirect, retry, response and error events', T, async (t) => {
    let flaky = 0;
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/start') res.writeHead(301, { location: '/next' }).end();
      else if (req.url === '/gone') req.socket.destroy();
      else if (++flaky === 1) res.writeHead(502).end();
      else res.end('ok');
    });
    const seen: string[] = [];
    const on = {
      'wirekit:client:request': (m: unknown) => {
        const { request } = m as { request: { method: string; url: URL; attempt: number } };
        seen.push(`request ${request.method} ${request.url.pathname} ${request.attempt}`);
      },
      'wirekit:client:redirect': (m: unknown) => {
        const { status, url: next } = m as { status: number; url: URL };
        seen.push(`redirect ${status} ${next.pathname}`);
      },
      'wirekit:client:retry': (m: unknown) => {
        const { attempt, status } = m as { attempt: number; status: number };
        seen.push(`retry ${attempt} ${status}`);
      },
      'wirekit:client:response': (m: unknown) => {
        const { response } = m as { response: Response };
        seen.push(`response ${response.status} ${new URL(response.url).pathname}`);
      },
      'wirekit:client:error': (m: unknown) => {
        const { request, error } = m as { request: { url: URL }; error: Error };
        seen.push(`error ${request.url.pathname} ${error.name}`);
      },
    };
    for (const [name, fn] of Object.entries(on)) diagnostics.subscribe(name, fn);
    t.after(() => {
      for (const [name, fn] of Object.entries(on)) diagnostics.unsubscribe(name, fn);
    });
    const http = new Session({ baseUrl: url, retry: { limit: 1, backoff: quick } });
    t.after(() => http.close());
    await (await http.get('/start')).dump();
    await assert.rejects(http.get('/gone', { retry: 0 }));
    assert.deepEqual(seen, [
      'request GET /start 0',
      'redirect 301 /next',
      'request GET /next 0',
      'retry 1 502',
      'request GET /next 1',
      'response 200 /next',
      'request GET /gone 0',
      'error /gone SocketError',
    ]);
  });

  test(
    'with nobody subscribed the channels report no subscribers and plain calls carry retries 0',
    T,
    async (t) => {
      const { url } = await serve(t, (_req, res) => res.end('ok'));
      const channel = diagnostics.channel('wirekit:client:request');
      assert.equal(channel.hasSubscribers, false);
      const http = new Session({ baseUrl: url });
      t.after(() => http.close());
      const res = await http.get('/');
      assert.equal(res.retries, 0);
      await res.dump();
    },
  );
});
