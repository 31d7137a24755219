/** Shared by the security suite's files: a server on port 0, raw exchanges over TCP, the usual assertions. */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { type TestContext } from 'node:test';
import * as tls from 'node:tls';
import { App, type AppServer, type ListenOptions } from '../../src/server/index.js';
import { sleep, tlsFixture } from '../helpers.js';

export const T = { timeout: 30_000 };
export const MiB = 1024 * 1024;

export async function serve(t: TestContext, app: App, options: ListenOptions = {}): Promise<AppServer> {
  const server = await app.listen({ port: 0, ...options });
  t.after(() => server.close({ timeout: 1_000 }));
  return server;
}

/** What came back on one raw connection. */
export interface Exchange {
  text: string;
  /** Status of every response on the connection, in order. */
  statuses: number[];
  /** The server closed (or reset) the connection; false when `ms` ran out first. */
  closed: boolean;
  /** The socket error, if the connection ended with one (ECONNRESET...). */
  error: string | undefined;
}

export const STATUS_LINE = /(?:^|\r\n)HTTP\/1\.[01] (\d{3}) /g;

/**
 * Writes each of `parts` on a new connection to `port` (with `gap` ms between them; `secure`:
 * over TLS with ALPN http/1.1) and collects what the server sends until it closes the
 * connection, or `ms` pass. The client never closes its side first: a server that waits for
 * more must be seen waiting.
 */
export function exchange(
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
export async function assertStillServes(server: AppServer, secure = false): Promise<void> {
  const request = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
  const res = await exchange(server.port, request, { secure });
  assert.deepEqual(res.statuses, [200], res.text);
  assert.ok(res.text.endsWith('\r\n\r\nok'), res.text);
}

/** An app with `/` (ok), `/echo` (counts calls, reads the body) and whatever `extra` adds. */
export function testApp(calls: string[] = []): App {
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
export function assertRefused(res: Exchange, status: number, what: string): void {
  assert.deepEqual(res.statuses, [status], `${what}: ${JSON.stringify(res.text)}`);
  assert.match(res.text, /\r\nConnection: close\r\n/i, what);
  assert.ok(res.closed, `${what}: the connection stayed open`);
}

/**
 * Streams a chunked body of `total` bytes in 64 KiB chunks, stopping at the first byte of an
 * answer, and resolves with what came back.
 */
export function chunkedUpload(port: number, total: number): Promise<Exchange & { sent: number }> {
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
