/**
 * The server's security suite: every attack goes to a real `app.listen({ port: 0 })` over raw
 * TCP, and every test checks the exact answer (or the cut connection) and that the server still
 * serves a normal request afterwards.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import { App, type AppServer, type ListenOptions } from '../../src/server/index.js';
import { sleep, tlsFixture } from '../helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;

async function serve(t: TestContext, app: App, options: ListenOptions = {}): Promise<AppServer> {
  const server = await app.listen({ port: 0, ...options });
  t.after(() => server.close({ timeout: 1_000 }));
  return server;
}

/** What came back on one raw connection. */
interface Exchange {
  text: string;
  /** Status of every response on the connection, in order. */
  statuses: number[];
  /** The server closed (or reset) the connection; false when `ms` ran out first. */
  closed: boolean;
  /** The socket error, if the connection ended with one (ECONNRESET...). */
  error: string | undefined;
}

const STATUS_LINE = /(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g;

/**
 * Writes each of `parts` on a new connection to `port` (with `gap` ms between them; `secure`:
 * over TLS with ALPN http/1.1) and collects what the server sends until it closes the
 * connection, or `ms` pass. The client never closes its side first: a server that waits for
 * more must be seen waiting.
 */
function exchange(
  port: number,
  parts: string | Buffer | Array<string | Buffer>,
  { ms = 5_000, gap = 0, secure = false }: { ms?: number; gap?: number; secure?: boolean } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = secure
      ? tls.connect({ port, host: '127.0.0.1', ca: tlsFixture.cert, ALPNProtocols: ['http/1.1'] })
      : net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(STATUS_LINE)].map((m) => Number(m[1]));
      resolve({ text, statuses, closed, error });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
      finish(true);
    });
    socket.on('close', () => finish(true));
    void (async () => {
      for (const part of Array.isArray(parts) ? parts : [parts]) {
        if (settled || socket.destroyed) return;
        socket.write(part);
        if (gap > 0) await sleep(gap);
      }
    })();
  });
}

/** A plain GET on a new connection: the server is still up and answering. */
async function assertStillServes(server: AppServer, secure = false): Promise<void> {
  const request = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const res = await exchange(server.port, request, { secure });
  assert.deepEqual(res.statuses, [200], res.text);
  assert.ok(res.text.endsWith('\r\n\r\nok'), res.text);
}

/** An app with `/` (ok), `/echo` (counts calls, reads the body) and whatever `extra` adds. */
function testApp(calls: string[] = []): App {
  return new App()
    .get('/', () => 'ok')
    .get('/smuggled', () => {
      calls.push('smuggled');
      return 'smuggled';
    })
    .post('/echo', async (ctx) => {
      calls.push('echo');
      return { length: (await ctx.bytes()).length };
    });
}

/** Asserts one `status` answer, with Connection: close, and the connection cut after it. */
function assertRefused(res: Exchange, status: number, what: string): void {
  assert.deepEqual(res.statuses, [status], `${what}: ${JSON.stringify(res.text)}`);
  assert.match(res.text, /\r\nConnection: close\r\n/i, what);
  assert.ok(res.closed, `${what}: the connection stayed open`);
}

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

/** Gzip of `size` zero bytes, compressed in 1 MiB steps. */
async function bombOf(size: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const zeros = Buffer.alloc(MiB);
  for (let i = 0; i < size / MiB; i++) {
    if (!gzip.write(zeros)) await new Promise((drained) => gzip.once('drain', drained));
  }
  await new Promise((ended) => gzip.end(ended));
  return Buffer.concat(out);
}

/** Samples this process's RSS every few ms while `run` goes; resolves with the peak growth. */
async function rssGrowth<R>(run: () => Promise<R>): Promise<[R, number]> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
  try {
    const result = await run();
    return [result, Math.max(peak, process.memoryUsage.rss()) - before];
  } finally {
    clearInterval(timer);
  }
}

/**
 * Streams a chunked body of `total` bytes in 64 KiB chunks, stopping at the first byte of an
 * answer, and resolves with what came back.
 */
function chunkedUpload(port: number, total: number): Promise<Exchange & { sent: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    let answered = false;
    let error: string | undefined;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(STATUS_LINE)].map((m) => Number(m[1]));
      resolve({ text, statuses, closed, error, sent });
    };
    const timer = setTimeout(() => finish(false), 10_000);
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      chunks.push(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
    socket.on('close', () => finish(true));
    const piece = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
    void (async () => {
      socket.write(
        'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      );
      while (!answered && !socket.destroyed && sent < total) {
        sent += 0x10000;
        if (!socket.write(piece)) await new Promise((drained) => socket.once('drain', drained));
        // Paced, so that an early answer is seen before the kernel buffers take it all.
        await sleep(5);
      }
      if (!answered && !socket.destroyed) socket.write('0\r\n\r\n');
    })();
  });
}

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

describe('routing and JSON', () => {
  test('a 101-character route parameter is a 404; 100 characters reach the handler', T, async (t) => {
    const server = await serve(
      t,
      testApp().get('/users/:id', (ctx) => ctx.params.id),
    );
    const ask = (id: string) =>
      exchange(server.port, `GET /users/${id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const ok = await ask('a'.repeat(100));
    assert.deepEqual(ok.statuses, [200]);
    assert.ok(ok.text.endsWith(`\r\n\r\n${'a'.repeat(100)}`));
    assert.deepEqual((await ask('a'.repeat(101))).statuses, [404]);
    assert.deepEqual((await ask('%61'.repeat(101))).statuses, [404]);
    await assertStillServes(server);
  });

  test('JSON with __proto__ or constructor.prototype merged into {} pollutes nothing', T, async (t) => {
    /** The merge every tutorial writes: recursive, no key filter. */
    const merge = (target: Record<string, unknown>, source: Record<string, unknown>): void => {
      for (const key of Object.keys(source)) {
        const value = source[key];
        if (value !== null && typeof value === 'object') {
          if (target[key] === null || typeof target[key] !== 'object') target[key] ??= {};
          merge(target[key] as Record<string, unknown>, value as Record<string, unknown>);
        } else target[key] = value;
      }
    };
    const app = testApp().post('/merge', async (ctx) => {
      const target: Record<string, unknown> = {};
      merge(target, await ctx.json());
      return { keys: Object.keys(target), polluted: ({} as Record<string, unknown>).polluted ?? null };
    });
    const server = await serve(t, app);
    const bodies = [
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{"a":{"__proto__":{"polluted":1}},"b":[{"__proto__":{"polluted":1}}]}',
      '{"\\u005f_proto__":{"polluted":1}}',
    ];
    try {
      for (const body of bodies) {
        const res = await exchange(
          server.port,
          `POST /merge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        assert.deepEqual(res.statuses, [200], body);
        assert.match(res.text, /"polluted":null\}$/, body);
        assert.equal(({} as Record<string, unknown>).polluted, undefined, body);
      }
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    await assertStillServes(server);
  });
});

describe('static files through app.static', () => {
  const SECRET = 'TOP-SECRET-security-suite';
  let base = '';
  let root = '';
  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'wirekit-security-')));
    root = join(base, 'public');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(base, 'secret.txt'), SECRET);
    await writeFile(join(root, 'hello.txt'), 'hello\n');
    await writeFile(join(root, '.env'), SECRET);
  });
  after(() => rm(base, { recursive: true, force: true }));

  test(
    'traversal variants are 400/404 and never the secret (the full list: static.test.ts)',
    T,
    async (t) => {
      const server = await serve(t, testApp().static('/static', root));
      const attempts: Array<[string, number]> = [
        ['/static/../secret.txt', 404],
        ['/static/sub/../../secret.txt', 404],
        ['/static/%2e%2e/secret.txt', 404],
        ['/static/..%2fsecret.txt', 404],
        ['/static/..%5csecret.txt', 404],
        ['/static/..\\secret.txt', 404],
        ['/static/%252e%252e/secret.txt', 404],
        ['/static/.env', 404],
        ['/static/hello.txt%00.png', 400],
        // Not UTF-8: the router cannot decode the wildcard, so no route matches.
        ['/static/%c0%ae%c0%ae/secret.txt', 404],
      ];
      const good = await exchange(
        server.port,
        'GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      assert.deepEqual(good.statuses, [200]);
      for (const [target, status] of attempts) {
        const res = await exchange(
          server.port,
          `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        );
        assert.ok(!res.text.includes(SECRET), `${target} leaked the secret`);
        assert.deepEqual(res.statuses, [status], `${target}: ${res.text}`);
      }
      await assertStillServes(server);
    },
  );
});

describe('graceful close under load', () => {
  /** How each request of the load ended. */
  interface Tally {
    ok: number;
    /** 503 + Connection: close with its whole body: retried on a new connection. */
    unavailable: number;
    /** New connections refused after close() began (each client ends with one). */
    refused: number[];
    /** Idle keep-alive connections the server closed with nothing outstanding. */
    idleClosed: number;
    /**
     * Everything else: a reset or truncated answer (a reused keep-alive connection closed
     * under a request included), another status, a refusal before close().
     */
    failed: string[];
  }

  type Reply =
    { status: number; close: boolean; body: string } | { partial: Buffer; error: string | undefined };

  /** Reads responses with a Content-Length body off `socket`; `partial` when it ends first. */
  class ResponseReader {
    #buffer = Buffer.alloc(0);
    #waiting: (() => void) | undefined;
    #ended = false;
    #error: string | undefined;
    constructor(socket: net.Socket) {
      socket.on('data', (chunk: Buffer) => {
        this.#buffer = Buffer.concat([this.#buffer, chunk]);
        this.#waiting?.();
      });
      const end = () => {
        this.#ended = true;
        this.#waiting?.();
      };
      socket.on('end', end);
      socket.on('close', end);
      socket.on('error', (err: NodeJS.ErrnoException) => {
        this.#error = err.code;
        end();
      });
    }
    async next(): Promise<Reply> {
      for (;;) {
        const end = this.#buffer.indexOf('\r\n\r\n');
        if (end !== -1) {
          const head = this.#buffer.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
          if (this.#buffer.length >= end + 4 + length) {
            const body = this.#buffer.subarray(end + 4, end + 4 + length).toString();
            this.#buffer = this.#buffer.subarray(end + 4 + length);
            const close = /\r\nconnection: close/i.test(head);
            return { status: Number(head.slice(9, 12)), close, body };
          }
        }
        if (this.#ended) return { partial: this.#buffer, error: this.#error };
        await new Promise<void>((resolve) => (this.#waiting = resolve));
        this.#waiting = undefined;
      }
    }
  }

  /** The load: clients, their sockets (destroyed if the test fails), and what happened. */
  class Load {
    readonly tally: Tally = { ok: 0, unavailable: 0, refused: [], idleClosed: 0, failed: [] };
    readonly sockets = new Set<net.Socket>();
    closeCalledAt = 0;
    constructor(readonly port: number) {}

    connect(): Promise<net.Socket | undefined> {
      return new Promise((resolve) => {
        const socket = net.connect(this.port, '127.0.0.1');
        socket.once('connect', () => {
          this.sockets.add(socket);
          socket.once('close', () => this.sockets.delete(socket));
          socket.on('error', () => undefined);
          resolve(socket);
        });
        socket.once('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED' && this.closeCalledAt !== 0) this.tally.refused.push(Date.now());
          else this.tally.failed.push(`connect: ${err.code}`);
          resolve(undefined);
        });
      });
    }

    /** Counts one reply; true when the connection can carry the next request. */
    count(res: Reply, reused: boolean): boolean {
      if ('partial' in res) {
        const where = reused ? 'a reused keep-alive connection' : 'a new connection';
        this.tally.failed.push(
          `${where} ended ${res.partial.length} bytes into the answer (${res.error ?? 'EOF'})`,
        );
        return false;
      }
      if (res.status === 200 && res.body === 'done') this.tally.ok++;
      else if (res.status === 503 && res.close) this.tally.unavailable++;
      else this.tally.failed.push(`status ${res.status}, close ${res.close}: ${res.body}`);
      return res.status === 200 && !res.close;
    }

    /** Keep-alive requests in a loop (with `think` ms at most between them), a new connection when told, until refused. */
    async client(think: number): Promise<void> {
      for (;;) {
        const socket = await this.connect();
        if (socket === undefined) return;
        const reader = new ResponseReader(socket);
        let reused = false;
        for (;;) {
          if (reused && think > 0) await sleep(Math.random() * think);
          socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
          if (!this.count(await reader.next(), reused)) break;
          reused = true;
        }
        socket.destroy();
      }
    }

    /** One request, idle until close() begins, then another `after` ms later: the 503. */
    async late(after: number, closing: Promise<void>): Promise<void> {
      const socket = await this.connect();
      if (socket === undefined) return;
      const reader = new ResponseReader(socket);
      socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
      if (!this.count(await reader.next(), false)) return;
      await closing;
      await sleep(after);
      socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
      const res = await reader.next();
      this.count(res, true);
      if (!('status' in res && res.status === 503)) this.tally.failed.push('a late request was not a 503');
      socket.destroy();
    }

    /** One request, then idle until the server closes the connection. */
    async idle(): Promise<void> {
      const socket = await this.connect();
      if (socket === undefined) return;
      const reader = new ResponseReader(socket);
      socket.write('GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
      if (!this.count(await reader.next(), false)) return;
      const end = await reader.next();
      if ('partial' in end && end.partial.length === 0 && end.error === undefined) this.tally.idleClosed++;
      else this.tally.failed.push(`an idle connection ended with ${JSON.stringify(end)}`);
    }
  }

  test(
    'an HTTP/2 session gets GOAWAY: its stream in flight finishes, and close() does not wait for the deadline',
    T,
    async (t) => {
      const app = new App().get('/slow', async () => {
        await sleep(300);
        return 'slow';
      });
      const server = await serve(t, app, { tls: tlsFixture, http2: true });
      const session = http2.connect(server.url, { ca: tlsFixture.cert });
      t.after(() => session.destroy());
      session.on('error', () => undefined);
      const goaway = once(session, 'goaway');
      const get = (path: string) =>
        new Promise<string>((resolve, reject) => {
          const req = session.request({ ':path': path });
          let text = '';
          req.on('response', (headers) => (text += `${headers[':status']} `));
          req.on('data', (chunk: Buffer) => (text += chunk.toString()));
          req.on('end', () => resolve(text));
          req.on('error', reject);
          req.end();
        });
      const slow = get('/slow');
      await sleep(100);
      const started = Date.now();
      const closing = server.close({ timeout: 5_000 });
      await goaway;
      assert.equal(await slow, '200 slow');
      await closing;
      const took = Date.now() - started;
      t.diagnostic(`close took ${took} ms`);
      assert.ok(took < 3_000, `close took ${took} ms: it waited for the deadline`);
    },
  );

  test(
    '20 keep-alive clients looping requests through close(): every request gets 200 or 503 + close',
    T,
    async (t) => {
      // Mostly quick; one in ten outlasts close()'s idle grace (at most 500 ms).
      const app = new App().get('/work', async () => {
        await sleep(Math.random() < 0.1 ? 600 : Math.random() * 20);
        return 'done';
      });
      const server = await app.listen({ port: 0 });
      const load = new Load(server.port);
      t.after(() => {
        for (const socket of load.sockets) socket.destroy();
        return server.close({ timeout: 100 });
      });
      // Half the clients send their next request at once, half think up to 20 ms first.
      const clients = Array.from({ length: 20 }, (_, i) => load.client(i % 2 === 0 ? 0 : 20));
      const idle = Array.from({ length: 4 }, () => load.idle());
      // And four come back on their idle connection 100 ms into close(), within its grace.
      let closing!: () => void;
      const closeBegan = new Promise<void>((resolve) => (closing = resolve));
      const late = Array.from({ length: 4 }, () => load.late(100, closeBegan));
      await sleep(1_000);
      const okBefore = load.tally.ok;
      load.closeCalledAt = Date.now();
      closing();
      await server.close({ timeout: 5_000 });
      const closedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...clients, ...idle, ...late]),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('clients hang')), 10_000))),
      ]).finally(() => clearTimeout(timer));
      const { ok, unavailable, refused, idleClosed, failed } = load.tally;
      const refusedWhileClosing = refused.filter((at) => at < closedAt).length;
      t.diagnostic(
        `${ok} × 200 (${okBefore} before close()), ${unavailable} × 503 + close, ${failed.length} failed; ` +
          `${refused.length} clients refused after close() began (${refusedWhileClosing} while it ` +
          `was under way), ${idleClosed} idle connections closed; close took ${closedAt - load.closeCalledAt} ms`,
      );
      assert.deepEqual(failed, []);
      assert.equal(refused.length, 20, 'every looping client ends refused');
      assert.equal(idleClosed, 4, 'every idle connection is closed cleanly');
      assert.ok(unavailable >= 4, 'the late requests got their 503');
      assert.ok(okBefore > 40, `only ${okBefore} requests before close()`);
      assert.ok(closedAt - load.closeCalledAt < 4_000, 'close() ran into its deadline');
    },
  );
});
