/**
 * The server's security suite, part two (routing, JSON, static files, graceful close): every attack goes to a real
 * `app.listen({ port: 0 })` over raw TCP, and every test checks the exact answer (or the cut
 * connection) and that the server still serves a normal request afterwards.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/server/index.js';
import { sleep, tlsFixture } from '../helpers.js';
import { assertStillServes, exchange, serve, T, testApp } from './security-helpers.js';

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
        // Not UTF-8 (an overlong encoding of '.'): a malformed percent-encoding, 400.
        ['/static/%c0%ae%c0%ae/secret.txt', 400],
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
