import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { accessLog, App, metrics } from '../../src/server/index.js';

const T = { timeout: 20_000 };

test(
  'accessLog writes one JSON line per request with method, path, status, bytes, duration and id',
  T,
  async (t) => {
    const out = new PassThrough();
    const lines: Array<Record<string, unknown>> = [];
    out.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const app = new App();
    app.use(accessLog({ logger: pino(out) }));
    app.get('/hello', () => 'Hello World!');
    const server = await app.listen({ port: 0 });
    t.after(() => server.close());
    const res = await fetch(`${server.url}hello?x=1`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    await res.text();
    const missing = await fetch(`${server.url}missing`);
    assert.match(missing.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    for (let i = 0; i < 50 && lines.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(lines.length, 2);
    const [hello, notFound] = lines as [Record<string, unknown>, Record<string, unknown>];
    assert.deepEqual(
      [hello.method, hello.path, hello.status, hello.id, hello.msg],
      ['GET', '/hello', 200, 'abc-123', 'request'],
    );
    assert.ok((hello.bytes as number) > 12 && typeof hello.ms === 'number');
    assert.equal(notFound.status, 404);
  },
);

test('metrics counts requests by route pattern and status, times them, and serves /metrics', T, async (t) => {
  const app = new App();
  metrics(app);
  app.get('/users/:id', (ctx) => ({ id: ctx.params.id }));
  const server = await app.listen({ port: 0 });
  t.after(() => server.close());
  await (await fetch(`${server.url}users/1`)).text();
  await (await fetch(`${server.url}users/2`)).text();
  await (await fetch(`${server.url}nope`)).text();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const res = await fetch(`${server.url}metrics`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /http_requests_total\{method="GET",route="\/users\/:id",status="200"\} 2/);
  assert.match(text, /http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
  assert.match(
    text,
    /http_request_duration_seconds_count\{method="GET",route="\/users\/:id",status="200"\} 2/,
  );
  assert.match(text, /http_open_connections [1-9]/);
});
