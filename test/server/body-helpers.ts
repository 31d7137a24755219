/** Helpers for the body and multipart tests: a node:http server around a reader, and clients. */
import * as zlib from 'node:zlib';
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { HttpError } from '../../src/server/errors.js';

/** How the handler of one request ended: its value, or what it threw. */
export type Outcome = { value: unknown; error?: undefined } | { value?: undefined; error: unknown };

export interface TestServer {
  port: number;
  url: string;
  /** The outcome of the next request the handler finishes (in order of finishing). */
  outcome(): Promise<Outcome>;
}

/**
 * A node:http server on 127.0.0.1:0 whose handler awaits `handler(req)` and answers 200 with
 * `{ value }` as JSON, or the HttpError's status, headers and `{ error }`, or 500. Closed when
 * the test ends.
 */
export async function serve(
  t: TestContext,
  handler: (req: IncomingMessage) => Promise<unknown> | unknown,
): Promise<TestServer> {
  const finished: Outcome[] = [];
  const waiting: ((outcome: Outcome) => void)[] = [];
  const record = (outcome: Outcome) => {
    const wake = waiting.shift();
    if (wake) wake(outcome);
    else finished.push(outcome);
  };
  const server = createServer(async (req, res) => {
    let status = 200;
    let headers: OutgoingHttpHeaders = {};
    let body: unknown;
    try {
      const value = await handler(req);
      body = { value };
      record({ value });
    } catch (error) {
      record({ error });
      if (error instanceof HttpError) {
        status = error.status;
        headers = error.headers;
        body = { error: error.expose ? error.message : 'hidden' };
      } else {
        status = 500;
        body = { error: String(error) };
      }
    }
    const text = JSON.stringify(body);
    if (!res.destroyed) {
      res.writeHead(status, {
        ...headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    outcome: () =>
      within(
        new Promise<Outcome>((resolve) => {
          const done = finished.shift();
          if (done) resolve(done);
          else waiting.push(resolve);
        }),
        10_000,
        'server outcome',
      ),
  };
}

/** Settles like `promise`, or rejects after `ms` (a hang is a failure). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  /** The parsed JSON reply. */
  json: { value?: unknown; error?: string };
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** A Buffer/string is sent whole (with Content-Length unless `chunked`); an iterable, chunked. */
  body?: Buffer | string | Iterable<Buffer> | AsyncIterable<Buffer>;
  chunked?: boolean;
}

/**
 * One request with node:http (no agent). Resolves with the response even when the server
 * answered before the request body was all sent; errors after the response are ignored.
 */
export function send(server: TestServer, path = '/', options: SendOptions = {}): Promise<Reply> {
  const { method = 'POST', headers = {}, body, chunked = false } = options;
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(server.url + path, { method, headers, agent: false });
      let answered = false;
      req.on('error', (err) => {
        if (!answered) reject(err);
      });
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', () => {});
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json = {};
          try {
            json = JSON.parse(text);
          } catch {
            // Left empty: the test looks at `text`.
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json });
        });
      });
      if (body === undefined) {
        req.end();
      } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
        if (chunked) {
          req.setHeader('transfer-encoding', 'chunked');
          req.end(body);
        } else {
          req.setHeader('content-length', Buffer.byteLength(body));
          req.end(body);
        }
      } else {
        void (async () => {
          try {
            for await (const chunk of body) {
              if (answered || req.destroyed) return;
              if (!req.write(chunk)) await new Promise((drained) => req.once('drain', drained));
            }
            req.end();
          } catch {
            req.destroy();
          }
        })();
      }
    }),
    15_000,
    'response',
  );
}

/**
 * Writes `head` and `body` over raw TCP and resolves with everything the server sends until it
 * closes (or `ms` pass: then with what came). `hold` keeps the socket open after writing.
 */
export function raw(
  server: TestServer,
  data: string | Buffer,
  options: { ms?: number; hold?: boolean } = {},
): Promise<{ text: string; status: number | undefined; socket: net.Socket }> {
  const { ms = 5_000, hold = false } = options;
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      socket.destroy();
      resolve({ text, status: status === undefined ? undefined : Number(status), socket });
    };
    const timer = setTimeout(finish, ms);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // With `hold`, one complete response is enough.
      if (hold && /\r\n\r\n/.test(Buffer.concat(chunks).toString('latin1'))) {
        setTimeout(finish, 50);
      }
    });
    socket.write(data);
    if (!hold) socket.end();
  });
}

/** `count` chunks of `size` bytes each of `fill`. */
export function* chunks(count: number, size: number, fill = 0x61): Iterable<Buffer> {
  const chunk = Buffer.alloc(size, fill);
  for (let i = 0; i < count; i++) yield chunk;
}

/** Gzip of `size` zero bytes, compressed in 1 MiB steps. */
export function bombOf(size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zeros = Buffer.alloc(1024 * 1024);
    const gzip = zlib.createGzip({ level: 9 });
    const out: Buffer[] = [];
    gzip.on('data', (chunk: Buffer) => out.push(chunk));
    // 'end' of the readable side, once every compressed byte came out ('finish' can be earlier).
    gzip.on('end', () => resolve(Buffer.concat(out)));
    gzip.on('error', reject);
    void (async () => {
      for (let i = 0; i < size / (1024 * 1024); i++) {
        if (!gzip.write(zeros)) await new Promise((drained) => gzip.once('drain', drained));
      }
      gzip.end();
    })();
  });
}

/** Samples this process's RSS every few ms while `run` goes; resolves with the peak growth. */
export async function rssGrowth<R>(run: () => Promise<R>): Promise<[R, number]> {
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
