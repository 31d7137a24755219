/**
 * The server's security suite, part one (request framing, body limits, slowloris): every attack goes to a real
 * `app.listen({ port: 0 })` over raw TCP, and every test checks the exact answer (or the cut
 * connection) and that the server still serves a normal request afterwards.
 */
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { describe, test } from 'node:test';
import { App } from '../../src/server/index.js';
import { sleep, tlsFixture } from '../helpers.js';
import {
  assertRefused,
  assertStillServes,
  chunkedUpload,
  exchange,
  MiB,
  serve,
  T,
  testApp,
} from './security-helpers.js';
import { bombOf, rssGrowth } from './body-helpers.js';

describe('request framing (llhttp, strict)', () => {
  test('Content-Length with Transfer-Encoding: chunked is a 400, never two requests', T, async (t) => {
    const calls: string[] = [];
    const server = await serve(t, testApp(calls));
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const attempts = {
      'CL then TE': `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'TE then CL': `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n${smuggled}`,
      'TE: chunked, identity': `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled}`,
      'TE: xchunked': `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${smuggled}`,
    };
    for (const [what, request] of Object.entries(attempts)) {
      assertRefused(await exchange(server.port, request), 400, what);
    }
    assert.deepEqual(calls, [], 'no handler ran');
    // A Transfer-Encoding that does not end in chunked leaves no way to find the body's end:
    // refused before any handler runs, whatever the case and spacing.
    for (const coding of ['gzip', 'chunked, gzip', 'CHUNKED , br', 'identity']) {
      const res = await exchange(
        server.port,
        `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n\r\n${smuggled}`,
      );
      assertRefused(res, 400, `TE: ${coding}`);
    }
    assert.deepEqual(calls, [], 'no handler ran, the smuggled request neither');
    // The last coding chunked (any case) is a body the handler gets.
    const ok = await exchange(
      server.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
    );
    assert.deepEqual(ok.statuses, [200], ok.text);
    assert.deepEqual(calls, ['echo']);
    await assertStillServes(server);
  });

  test('duplicate Content-Length (even the same value) and malformed values are a 400', T, async (t) => {
    const calls: string[] = [];
    const server = await serve(t, testApp(calls));
    const values = [['1', '2'], ['2', '2'], ['12a'], ['-1'], [' 1 2'], ['1,2'], ['0x10'], ['+1']];
    for (const lengths of values) {
      const head = lengths.map((v) => `Content-Length: ${v}\r\n`).join('');
      const res = await exchange(server.port, `POST /echo HTTP/1.1\r\nHost: x\r\n${head}\r\nab`);
      assertRefused(res, 400, JSON.stringify(lengths));
    }
    assert.deepEqual(calls, []);
    await assertStillServes(server);
  });

  test('obs-fold, bare CR and bare LF in the head are a 400', T, async (t) => {
    const server = await serve(t, testApp());
    const heads = {
      'obs-fold (continuation line starting with a space)':
        'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
      'obs-fold with a tab': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n',
      'space before the colon': 'GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n',
      'bare CR inside a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
      'bare CR ending a line': 'GET / HTTP/1.1\r\nHost: x\rX-A: a\r\n\r\n',
      'bare CR in the request line': 'GET /\r HTTP/1.1\r\nHost: x\r\n\r\n',
      'bare LF inside a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n',
      'bare LF ending a header line': 'GET / HTTP/1.1\r\nHost: x\nX-A: a\r\n\r\n',
      'bare LF everywhere': 'GET / HTTP/1.1\nHost: x\n\n',
      'NUL in a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n',
    };
    for (const [what, head] of Object.entries(heads)) {
      assertRefused(await exchange(server.port, head), 400, what);
    }
    await assertStillServes(server);
  });

  test('a chunk extension over 16 KiB is a 413', T, async (t) => {
    const calls: string[] = [];
    const server = await serve(t, testApp(calls));
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n';
    const res = await exchange(server.port, `${head}1;ext=${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`);
    assertRefused(res, 413, 'one 20 KB extension');
    // Small extensions are legal and ignored.
    const ok = await exchange(
      server.port,
      `${head.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}1;name=value\r\nx\r\n0\r\n\r\n`,
    );
    assert.deepEqual(ok.statuses, [200]);
    assert.match(ok.text, /\{"length":1\}$/);
    await assertStillServes(server);
  });

  test('a request head over 16 KiB is a 431', T, async (t) => {
    const server = await serve(t, testApp());
    const one = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
    );
    assertRefused(one, 431, 'one big header');
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(40)}\r\n`).join('');
    assertRefused(
      await exchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`),
      431,
      '400 headers',
    );
    const url = await exchange(server.port, `GET /${'u'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assertRefused(url, 431, 'a 17 KB URL');
    await assertStillServes(server);
  });
});

describe('body limits through the app (1 MiB default)', () => {
  const uploads = () =>
    new App().get('/', () => 'ok').post('/upload', async (ctx) => ({ length: (await ctx.bytes()).length }));

  test('a declared Content-Length over the limit is a 413 before any body byte is sent', T, async (t) => {
    const server = await serve(t, uploads());
    const res = await exchange(
      server.port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`,
    );
    assertRefused(res, 413, 'Content-Length 2 MiB');
    await assertStillServes(server);
  });

  test('with Expect: 100-continue, a body the route would refuse is not asked for', T, async (t) => {
    const app = uploads().post('/small', { bodyLimit: 100 }, async (ctx) => ({
      length: (await ctx.bytes()).length,
    }));
    const server = await serve(t, app);
    const head = (path: string, length: number, type = 'application/octet-stream') =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`;
    // Over the app's limit, over the route's own, or for a path no route answers: the final
    // answer comes at once, without the 100, and the connection closes behind it.
    const refused: Array<[string, string, number]> = [
      ['2 MiB to the 1 MiB default', head('/upload', 2 * MiB), 413],
      ['101 bytes to a 100-byte route', head('/small', 101), 413],
      ['a path no route answers', head('/nowhere', 10), 404],
      ['a method the path does not take', head('/', 10), 405],
    ];
    for (const [what, request, status] of refused) {
      const res = await exchange(server.port, request);
      assertRefused(res, status, what);
      assert.doesNotMatch(res.text, /100 Continue/, what);
    }
    // Within the limit the 100 comes first, and the body sent after it is read. Multipart has
    // its own 64 MiB default, so 2 MiB of it is asked for too.
    const close = (request: string) => request.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n');
    const accepted = (await exchange(server.port, [close(head('/small', 5)), 'hello'], { gap: 200 })).text;
    assert.match(accepted, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(accepted, /\{"length":5\}$/);
    const multipart = (
      await exchange(server.port, head('/upload', 2 * MiB, 'multipart/form-data; boundary=b'), { ms: 500 })
    ).text;
    assert.match(multipart, /^HTTP\/1\.1 100 Continue\r\n/);
    await assertStillServes(server);
  });

  test(
    'over HTTP/2, a declared length over the limit is a 413 with no 100 and no Connection header',
    T,
    async (t) => {
      // node drops a Connection header from an HTTP/2 response, warning once per process.
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      t.after(() => process.off('warning', onWarning));
      const server = await serve(t, uploads(), { tls: tlsFixture, http2: true });
      const session = http2.connect(server.url, { ca: tlsFixture.cert });
      t.after(() => session.destroy());
      session.on('error', () => undefined);
      const post = (extra: Record<string, string>) =>
        new Promise<{ status: unknown; continued: boolean }>((resolve, reject) => {
          const headers = { ':method': 'POST', ':path': '/upload', 'content-length': String(2 * MiB) };
          const req = session.request({ ...headers, ...extra });
          let continued = false;
          req.on('continue', () => (continued = true));
          req.on('response', (head) => {
            resolve({ status: head[':status'], continued });
            req.close();
          });
          req.on('error', reject);
        });
      assert.deepEqual(await post({}), { status: 413, continued: false });
      assert.deepEqual(await post({ expect: '100-continue' }), { status: 413, continued: false });
      await sleep(50);
      assert.deepEqual(
        warnings.filter((message) => /connection header/i.test(message)),
        [],
      );
    },
  );

  test('a chunked body over the limit is a 413 once the limit is passed', T, async (t) => {
    const server = await serve(t, uploads());
    const res = await chunkedUpload(server.port, 8 * MiB);
    assertRefused(res, 413, 'chunked 8 MiB');
    t.diagnostic(`answered after ${res.sent / 1024} KiB were sent`);
    assert.ok(res.sent < 8 * MiB, 'the server read the whole body before answering');
    // Under the limit, the same route takes the body whole.
    const small = await chunkedUpload(server.port, 512 * 1024);
    assert.deepEqual(small.statuses, [200], small.text);
    assert.match(small.text, /\{"length":524288\}$/);
    await assertStillServes(server);
  });

  test('a gzip bomb (100 MiB of zeros in ~100 KB) is a 413 and RSS grows by under 32 MiB', T, async (t) => {
    const bomb = await bombOf(100 * MiB);
    assert.ok(bomb.length < 200_000, `the bomb is ${bomb.length} bytes`);
    const server = await serve(t, uploads());
    const head = `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`;
    const [res, growth] = await rssGrowth(() => exchange(server.port, [head, bomb]));
    t.diagnostic(`RSS grew by ${(growth / MiB).toFixed(1)} MiB while the bomb was refused`);
    assertRefused(res, 413, 'gzip bomb');
    assert.ok(growth < 32 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    await assertStillServes(server);
  });
});

describe('slowloris', () => {
  test(
    'a client sending its head a byte a second is cut with 408 at the headers timeout; others are served meanwhile',
    T,
    async (t) => {
      const headersTimeout = 1_000;
      const server = await serve(t, testApp(), { headersTimeout, requestTimeout: 2_000 });
      const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n';
      const started = Date.now();
      // Five slow clients at once; each would need ~50 s to finish its head.
      const slow = Array.from({ length: 5 }, () =>
        exchange(server.port, [...head].slice(0, -4), { ms: 10_000, gap: 1_000 }).then((res) => ({
          ...res,
          after: Date.now() - started,
        })),
      );
      // Meanwhile a normal client asks every 100 ms on fresh connections.
      const latencies: number[] = [];
      let stop = false;
      const normal = (async () => {
        while (!stop) {
          const asked = Date.now();
          const res = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
          latencies.push(Date.now() - asked);
          assert.deepEqual(res.statuses, [200], res.text);
          await sleep(100);
        }
      })();
      const cut = await Promise.all(slow);
      stop = true;
      await normal;
      latencies.sort((a, b) => a - b);
      t.diagnostic(
        `slow clients cut after ${cut.map((c) => c.after).join(', ')} ms; ${latencies.length} normal ` +
          `requests meanwhile, median ${latencies[latencies.length >> 1]} ms, max ${latencies.at(-1)} ms`,
      );
      for (const res of cut) {
        assertRefused(res, 408, 'slow head');
        // node checks on an interval (wirekit: a quarter of the timeout), so the cut comes
        // between the timeout and the timeout plus that interval, plus scheduling noise.
        assert.ok(res.after >= headersTimeout - 50, `cut early, after ${res.after} ms`);
        assert.ok(res.after < headersTimeout + 3_000, `cut late, after ${res.after} ms`);
      }
      assert.ok(latencies.length >= 5, `only ${latencies.length} normal requests went through`);
      assert.ok((latencies.at(-1) ?? 0) < 1_500, `a normal request took ${latencies.at(-1)} ms`);
      await assertStillServes(server);
    },
  );

  test(
    'over TLS, HTTPS and the HTTP/1.1 fallback of HTTP/2 cut a slow head at the headers timeout too',
    T,
    async (t) => {
      for (const http2 of [false, true]) {
        const options = { tls: tlsFixture, http2, headersTimeout: 1_000, requestTimeout: 2_000 };
        const server = await serve(t, testApp(), options);
        const started = Date.now();
        const res = await exchange(server.port, [...'GET / HTTP/1.1\r\nHost: x\r\n'], {
          ms: 8_000,
          gap: 500,
          secure: true,
        });
        const after = Date.now() - started;
        t.diagnostic(`${http2 ? 'HTTP/2 server' : 'HTTPS'}: cut after ${after} ms`);
        assertRefused(res, 408, http2 ? 'HTTP/2 server' : 'HTTPS');
        assert.ok(after >= 950 && after < 4_000, `cut after ${after} ms`);
        await assertStillServes(server, true);
      }
    },
  );

  test('a body trickled slower than the request timeout is cut with 408', T, async (t) => {
    const server = await serve(t, testApp(), { headersTimeout: 1_000, requestTimeout: 2_000 });
    const started = Date.now();
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n';
    const res = await exchange(server.port, [head, ...'a'.repeat(99)], { ms: 10_000, gap: 200 });
    const after = Date.now() - started;
    t.diagnostic(`cut after ${after} ms`);
    // The handler is waiting for the body and has not answered: node's 408 goes out.
    assertRefused(res, 408, 'slow body');
    assert.ok(after >= 1_950 && after < 5_000, `cut after ${after} ms`);
    await assertStillServes(server);
  });
});
