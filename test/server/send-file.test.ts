/**
 * sendFile on a real node:http server on 127.0.0.1:0, over a temp directory made by the tests:
 * headers, validators, conditional requests, ranges (single and multipart), HEAD,
 * precompressed siblings, options, and what happens when the client or the file goes away.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  realpath,
  rm,
  stat,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type ServerResponse,
} from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { HttpError } from '../../src/server/errors.js';
import { sendFile, sendFileDefaults, type SendFileOptions } from '../../src/server/send-file.js';
import { sleep } from '../helpers.js';
import { within } from '../net/tcp-helpers.js';

const T = { timeout: 20_000 };

const HELLO = 'Hello, world!\n';
const CSS = 'body { color: rebeccapurple; }\n'.repeat(40);
const BIG = randomBytes(256 * 1024);
let dir = '';

before(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'wirekit-send-file-')));
  await writeFile(join(dir, 'hello.txt'), HELLO);
  await writeFile(join(dir, 'page.html'), '<!DOCTYPE html><p>hi</p>\n');
  await writeFile(join(dir, 'logo.png'), randomBytes(64));
  await writeFile(join(dir, 'README'), 'no extension\n');
  await writeFile(join(dir, 'empty.txt'), '');
  await writeFile(join(dir, 'big.bin'), BIG);
  await mkdir(join(dir, 'folder'));
  await writeFile(join(dir, 'style.css'), CSS);
  await writeFile(join(dir, 'style.css.gz'), gzipSync(CSS));
  await writeFile(join(dir, 'style.css.br'), brotliCompressSync(CSS));
  // A sibling older than its original is stale and must not be served.
  await writeFile(join(dir, 'old.css'), CSS);
  await writeFile(join(dir, 'old.css.gz'), gzipSync('stale'));
  const past = new Date(Date.now() - 3_600_000);
  await utimes(join(dir, 'old.css.gz'), past, past);
});

after(() => rm(dir, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A server whose handler errors are answered the way an app would: HttpError status, else 500. */
async function serve(t: TestContext, handler: Handler): Promise<number> {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = err instanceof HttpError ? err.status : 500;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** Serves `<dir>/<url path>` with sendFile and `options`. */
function serveFiles(t: TestContext, options: SendFileOptions = {}): Promise<number> {
  return serve(t, (req, res) => sendFile(req, res, join(dir, decodeURIComponent(req.url ?? '/')), options));
}

/** One request with node:http, nothing decoded: the bytes and headers as the server sent them. */
function fetchRaw(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers, agent: false, signal: AbortSignal.timeout(10_000) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function etagOf(name: string): Promise<string> {
  const s = await stat(join(dir, name));
  return `"${Math.floor(s.mtimeMs).toString(16)}-${s.size.toString(16)}"`;
}

/** How many of this process's descriptors are open on `path` (Linux /proc). */
async function descriptorsOn(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path) count++;
  }
  return count;
}

describe('sendFile: a plain GET', () => {
  test(
    'answers 200 with type, length, Last-Modified, an nginx-style ETag, Accept-Ranges and Cache-Control',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const res = await fetchRaw(port, '/hello.txt');
      const s = await stat(join(dir, 'hello.txt'));
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), HELLO);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(res.headers['content-length'], String(HELLO.length));
      assert.equal(res.headers['last-modified'], s.mtime.toUTCString());
      assert.equal(res.headers.etag, await etagOf('hello.txt'));
      assert.match(res.headers.etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
      assert.equal(res.headers['accept-ranges'], 'bytes');
      assert.equal(res.headers['cache-control'], 'public, max-age=0');
      assert.equal(res.headers.vary, undefined, 'no Vary unless precompressed is on');
    },
  );

  test(
    'the Content-Type comes from the extension: charset on text, none on binary, octet-stream when unknown',
    T,
    async (t) => {
      const port = await serveFiles(t);
      assert.equal((await fetchRaw(port, '/page.html')).headers['content-type'], 'text/html; charset=utf-8');
      assert.equal((await fetchRaw(port, '/style.css')).headers['content-type'], 'text/css; charset=utf-8');
      assert.equal((await fetchRaw(port, '/logo.png')).headers['content-type'], 'image/png');
      assert.equal((await fetchRaw(port, '/README')).headers['content-type'], 'application/octet-stream');
    },
  );

  test('contentType overrides the extension, as does a Content-Type in headers', T, async (t) => {
    const a = await serveFiles(t, { contentType: 'text/x-greeting' });
    assert.equal((await fetchRaw(a, '/hello.txt')).headers['content-type'], 'text/x-greeting');
    const b = await serveFiles(t, { headers: { 'Content-Type': 'text/csv' } });
    assert.equal((await fetchRaw(b, '/hello.txt')).headers['content-type'], 'text/csv');
  });

  test('maxAge and immutable make the Cache-Control; headers are added and may replace it', T, async (t) => {
    const a = await serveFiles(t, {
      maxAge: 31_536_000,
      immutable: true,
      headers: { 'X-Served-By': 'wirekit', 'Set-Cookie': ['a=1', 'b=2'], 'X-Unset': undefined },
    });
    const res = await fetchRaw(a, '/hello.txt');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.headers['x-served-by'], 'wirekit');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-unset'], undefined);
    const b = await serveFiles(t, { headers: { 'Cache-Control': 'no-store' } });
    const replaced = await fetchRaw(b, '/hello.txt');
    assert.equal(replaced.headers['cache-control'], 'no-store');
  });

  test('an empty file is 200 with Content-Length 0', T, async (t) => {
    const port = await serveFiles(t);
    const res = await fetchRaw(port, '/empty.txt');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.body.length, 0);
  });

  test('HEAD answers the GET headers with the full Content-Length and no body', T, async (t) => {
    const port = await serveFiles(t);
    const res = await fetchRaw(port, '/big.bin', {}, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(BIG.length));
    assert.equal(res.headers.etag, await etagOf('big.bin'));
    assert.equal(res.body.length, 0);
  });

  test('the promise resolves once the response has finished', T, async (t) => {
    let finishedFirst: boolean | undefined;
    const port = await serve(t, async (req, res) => {
      await sendFile(req, res, join(dir, 'big.bin'));
      finishedFirst = res.writableFinished;
    });
    const res = await fetchRaw(port, '/');
    assert.equal(res.body.length, BIG.length);
    await sleep(20);
    assert.equal(finishedFirst, true);
  });
});

describe('sendFile: conditional requests', () => {
  test('If-None-Match with the ETag is 304 without a body, keeping ETag and Cache-Control', T, async (t) => {
    const port = await serveFiles(t, { maxAge: 60 });
    const etag = await etagOf('hello.txt');
    const res = await fetchRaw(port, '/hello.txt', { 'If-None-Match': etag });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers.etag, etag);
    assert.equal(res.headers['cache-control'], 'public, max-age=60');
    assert.equal(res.headers['content-length'], undefined);
  });

  test('If-None-Match compares weakly, takes lists and *, and a stale tag gets the body', T, async (t) => {
    const port = await serveFiles(t);
    const etag = await etagOf('hello.txt');
    const status = async (value: string) =>
      (await fetchRaw(port, '/hello.txt', { 'If-None-Match': value })).status;
    assert.equal(await status(`W/${etag}`), 304);
    assert.equal(await status(`"a,b", W/"other", ${etag}`), 304);
    assert.equal(await status('*'), 304);
    assert.equal(await status('"stale-1"'), 200);
    assert.equal(await status('W/"stale-1", "stale-2"'), 200);
  });

  test(
    'If-Modified-Since at or after Last-Modified is 304; earlier or unparsable gets the body',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const mtime = (await stat(join(dir, 'hello.txt'))).mtime;
      const status = async (value: string) =>
        (await fetchRaw(port, '/hello.txt', { 'If-Modified-Since': value })).status;
      assert.equal(await status(mtime.toUTCString()), 304);
      assert.equal(await status(new Date(mtime.getTime() + 60_000).toUTCString()), 304);
      assert.equal(await status(new Date(mtime.getTime() - 60_000).toUTCString()), 200);
      assert.equal(await status('not a date'), 200);
    },
  );

  test('If-None-Match takes precedence over If-Modified-Since', T, async (t) => {
    const port = await serveFiles(t);
    const mtime = (await stat(join(dir, 'hello.txt'))).mtime;
    const res = await fetchRaw(port, '/hello.txt', {
      'If-None-Match': '"stale-1"',
      'If-Modified-Since': mtime.toUTCString(),
    });
    assert.equal(res.status, 200);
  });

  test(
    'If-Match needs a strong match and If-Unmodified-Since a date not before Last-Modified, else 412',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const etag = await etagOf('hello.txt');
      const mtime = (await stat(join(dir, 'hello.txt'))).mtime;
      const status = async (headers: Record<string, string>) =>
        (await fetchRaw(port, '/hello.txt', headers)).status;
      assert.equal(await status({ 'If-Match': etag }), 200);
      assert.equal(await status({ 'If-Match': '*' }), 200);
      assert.equal(await status({ 'If-Match': `W/${etag}` }), 412);
      assert.equal(await status({ 'If-Match': '"other"' }), 412);
      assert.equal(await status({ 'If-Unmodified-Since': mtime.toUTCString() }), 200);
      assert.equal(
        await status({ 'If-Unmodified-Since': new Date(mtime.getTime() - 60_000).toUTCString() }),
        412,
      );
    },
  );

  test('a matching If-None-Match on a POST is 412, not 304', T, async (t) => {
    const port = await serveFiles(t);
    const res = await fetchRaw(port, '/hello.txt', { 'If-None-Match': '*' }, 'POST');
    assert.equal(res.status, 412);
  });
});

describe('sendFile: ranges', () => {
  const slice = (start: number, end: number) => BIG.subarray(start, end + 1);

  test(
    'bytes=start-end, start- and -suffix answer 206 with Content-Range and exactly those bytes',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const size = BIG.length;
      const cases: Array<[string, number, number]> = [
        ['bytes=0-99', 0, 99],
        ['bytes=1000-', 1000, size - 1],
        ['bytes=-500', size - 500, size - 1],
        ['bytes=100-99999999', 100, size - 1],
        [`bytes=-${size * 2}`, 0, size - 1],
      ];
      for (const [range, start, end] of cases) {
        const res = await fetchRaw(port, '/big.bin', { Range: range });
        assert.equal(res.status, 206, range);
        assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
        assert.equal(res.headers['content-length'], String(end - start + 1), range);
        assert.ok(res.body.equals(slice(start, end)), `${range}: the bytes`);
      }
    },
  );

  test('a range past the end is 416 with Content-Range bytes */size', T, async (t) => {
    const port = await serveFiles(t);
    for (const range of [`bytes=${BIG.length}-`, 'bytes=-0', `bytes=${BIG.length + 5}-${BIG.length + 9}`]) {
      const res = await fetchRaw(port, '/big.bin', { Range: range });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers['content-range'], `bytes */${BIG.length}`, range);
    }
    const empty = await fetchRaw(port, '/empty.txt', { Range: 'bytes=0-' });
    assert.equal(empty.status, 416);
    assert.equal(empty.headers['content-range'], 'bytes */0');
  });

  test('a malformed Range or another unit is ignored: the whole file with 200', T, async (t) => {
    const port = await serveFiles(t);
    for (const range of ['bytes=abc', 'bytes=5-1', 'bytes=-', 'items=0-9', 'bytes=', '0-9']) {
      const res = await fetchRaw(port, '/hello.txt', { Range: range });
      assert.equal(res.status, 200, range);
      assert.equal(res.body.toString(), HELLO, range);
    }
  });

  test('HEAD ignores Range and describes the whole file', T, async (t) => {
    const port = await serveFiles(t);
    const res = await fetchRaw(port, '/big.bin', { Range: 'bytes=0-9' }, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(BIG.length));
  });

  test(
    'several ranges answer multipart/byteranges with a correct Content-Length and each part',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const res = await fetchRaw(port, '/hello.txt', { Range: 'bytes=7-11,0-4' });
      assert.equal(res.status, 206);
      const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(res.headers['content-type'] ?? '')?.[1];
      assert.ok(boundary, `content-type ${res.headers['content-type']}`);
      assert.equal(res.headers['content-length'], String(res.body.length));
      const parts = res.body
        .toString()
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((part) => {
          const [head = '', body = ''] = part.split('\r\n\r\n');
          return { head, body: body.replace(/\r\n$/, '') };
        });
      assert.equal(parts.length, 2);
      assert.match(parts[0]?.head ?? '', /content-range: bytes 0-4\/14/);
      assert.match(parts[0]?.head ?? '', /content-type: text\/plain; charset=utf-8/);
      assert.equal(parts[0]?.body, 'Hello');
      assert.match(parts[1]?.head ?? '', /content-range: bytes 7-11\/14/);
      assert.equal(parts[1]?.body, 'world');
      assert.ok(res.body.toString().endsWith(`--${boundary}--\r\n`));
    },
  );

  test('overlapping and adjacent ranges are merged, so bytes=0-,0-,0- sends the file once', T, async (t) => {
    const port = await serveFiles(t);
    const merged = await fetchRaw(port, '/hello.txt', { Range: 'bytes=0-4,2-8,9-10' });
    assert.equal(merged.status, 206);
    assert.equal(merged.headers['content-range'], 'bytes 0-10/14');
    assert.equal(merged.body.toString(), HELLO.slice(0, 11));
    const repeated = await fetchRaw(port, '/big.bin', { Range: 'bytes=0-,0-,0-' });
    assert.equal(repeated.status, 206);
    assert.equal(repeated.body.length, BIG.length);
  });

  test(`more than 100 ranges are ignored: the whole file with 200`, T, async (t) => {
    const port = await serveFiles(t);
    const many = Array.from({ length: 101 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
    const res = await fetchRaw(port, '/big.bin', { Range: `bytes=${many}` });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, BIG.length);
  });

  test(
    'If-Range with the current ETag or Last-Modified honours the Range; a stale or weak one sends all',
    T,
    async (t) => {
      const port = await serveFiles(t);
      const etag = await etagOf('hello.txt');
      const mtime = (await stat(join(dir, 'hello.txt'))).mtime;
      const status = async (ifRange: string) =>
        (await fetchRaw(port, '/hello.txt', { Range: 'bytes=0-4', 'If-Range': ifRange })).status;
      assert.equal(await status(etag), 206);
      assert.equal(await status(mtime.toUTCString()), 206);
      assert.equal(await status('"stale-1"'), 200);
      assert.equal(await status(`W/${etag}`), 200);
      assert.equal(await status(new Date(mtime.getTime() - 60_000).toUTCString()), 200);
    },
  );
});

describe('sendFile: precompressed siblings', () => {
  test(
    'with precompressed on, br is preferred, gzip next, each decoding to the original with its Content-Type',
    T,
    async (t) => {
      const port = await serveFiles(t, { precompressed: true });
      const br = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['content-type'], 'text/css; charset=utf-8');
      assert.equal(br.headers.vary, 'Accept-Encoding');
      assert.equal(brotliDecompressSync(br.body).toString(), CSS);
      assert.equal(br.headers.etag, await etagOf('style.css.br'));
      const gz = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'br;q=0.5, gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(gz.body).toString(), CSS);
      const plain = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'identity' });
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers.vary, 'Accept-Encoding');
      assert.equal(plain.body.toString(), CSS);
    },
  );

  test('Accept-Encoding quality values decide: q=0 refuses, * stands for the unnamed ones', T, async (t) => {
    const port = await serveFiles(t, { precompressed: true });
    const coding = async (accept: string) =>
      (await fetchRaw(port, '/style.css', { 'Accept-Encoding': accept })).headers['content-encoding'];
    assert.equal(await coding('br;q=0, gzip'), 'gzip');
    assert.equal(await coding('*'), 'br');
    assert.equal(await coding('gzip;q=0.9, *;q=0.1'), 'gzip');
    assert.equal(await coding('*;q=0'), undefined);
    assert.equal(await coding('deflate'), undefined);
  });

  test('a sibling older than the original is stale and skipped', T, async (t) => {
    const port = await serveFiles(t, { precompressed: true });
    const res = await fetchRaw(port, '/old.css', { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), CSS);
  });

  test('precompressed is off by default: siblings are never sent', T, async (t) => {
    const port = await serveFiles(t);
    const res = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'br, gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), CSS);
  });

  test('Vary keeps what middleware set and adds Accept-Encoding', T, async (t) => {
    const port = await serve(t, (req, res) => {
      res.setHeader('Vary', 'Origin');
      return sendFile(req, res, join(dir, 'style.css'), { precompressed: true });
    });
    assert.equal((await fetchRaw(port, '/')).headers.vary, 'Origin, Accept-Encoding');
  });

  test(
    'a range of a precompressed variant counts encoded bytes; several ranges get the whole variant',
    T,
    async (t) => {
      const port = await serveFiles(t, { precompressed: true });
      const encoded = brotliCompressSync(CSS);
      const one = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'br', Range: 'bytes=0-9' });
      assert.equal(one.status, 206);
      assert.equal(one.headers['content-range'], `bytes 0-9/${(await stat(join(dir, 'style.css.br'))).size}`);
      assert.equal(one.body.length, 10);
      const two = await fetchRaw(port, '/style.css', { 'Accept-Encoding': 'br', Range: 'bytes=0-1,5-6' });
      assert.equal(two.status, 200);
      assert.equal(two.headers['content-encoding'], 'br');
      assert.equal(brotliDecompressSync(two.body).toString(), CSS);
      assert.ok(encoded.length > 10);
    },
  );
});

describe('sendFile: missing files, options and clients that leave', () => {
  test(
    'a missing file or a directory rejects with HttpError 404 before anything is written',
    T,
    async (t) => {
      const seen: Array<{ status: number | undefined; headersSent: boolean }> = [];
      const port = await serve(t, async (req, res) => {
        try {
          await sendFile(req, res, join(dir, decodeURIComponent(req.url ?? '/')));
        } catch (err) {
          seen.push({ status: (err as HttpError).status, headersSent: res.headersSent });
          throw err;
        }
      });
      assert.equal((await fetchRaw(port, '/nope.txt')).status, 404);
      assert.equal((await fetchRaw(port, '/folder')).status, 404);
      assert.equal((await fetchRaw(port, '/hello.txt/more')).status, 404);
      assert.deepEqual(seen, [
        { status: 404, headersSent: false },
        { status: 404, headersSent: false },
        { status: 404, headersSent: false },
      ]);
    },
  );

  test('a FIFO is not a file: 404 at once, no thread left waiting for a writer', T, async (t) => {
    const fifo = join(dir, `pipe-${process.pid}`);
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('mkfifo is not available');
    t.after(() => rm(fifo, { force: true }));
    const port = await serveFiles(t);
    const res = await within(
      fetchRaw(port, `/${encodeURIComponent(`pipe-${process.pid}`)}`),
      5_000,
      'GET fifo',
    );
    assert.equal(res.status, 404);
  });

  test('nonsense options are a TypeError or RangeError; the defaults list every key', T, async (t) => {
    assert.deepEqual(Object.keys(sendFileDefaults).sort(), [
      'contentType',
      'headers',
      'immutable',
      'maxAge',
      'precompressed',
    ]);
    const errors: unknown[] = [];
    const bad: Array<SendFileOptions | string> = [
      { maxAge: -1 },
      { maxAge: 1.5 },
      { maxAge: '60' as unknown as number },
      { immutable: 'yes' as unknown as boolean },
      { precompressed: 1 as unknown as boolean },
      { contentType: '' },
      { headers: { 'Content-Length': '5' } },
      { headers: { ETag: '"x"' } },
      { headers: { 'bad header': 'x' } },
      { headers: { 'x-ok': 'line\r\nbreak' } },
      '',
    ];
    const port = await serve(t, async (req, res) => {
      const option = bad[Number((req.url ?? '/').slice(1))];
      try {
        if (typeof option === 'string') await sendFile(req, res, option);
        else await sendFile(req, res, join(dir, 'hello.txt'), option);
      } catch (err) {
        errors.push(err);
        throw err;
      }
    });
    for (let i = 0; i < bad.length; i++) assert.equal((await fetchRaw(port, `/${i}`)).status, 500);
    assert.equal(errors.length, bad.length);
    assert.ok(errors[0] instanceof RangeError && errors[1] instanceof RangeError);
    for (const err of errors.slice(2)) assert.ok(err instanceof TypeError, String(err));
  });

  test(
    'a client that goes away mid-body ends the stream, closes the file and resolves the promise',
    T,
    async (t) => {
      if (!existsSync('/proc/self/fd')) return t.skip('needs /proc/self/fd');
      const large = join(dir, 'large.bin');
      await writeFile(large, Buffer.alloc(32 * 1024 * 1024, 7));
      t.after(() => rm(large, { force: true }));
      let sending: Promise<void> | undefined;
      const port = await serve(t, (req, res) => (sending = sendFile(req, res, large)));
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await within(new Promise((resolve) => socket.once('data', resolve)), 5_000, 'first bytes');
      socket.pause();
      assert.equal(await descriptorsOn(large), 1, 'the file is open while it is being sent');
      socket.destroy();
      await within(sending as Promise<void>, 5_000, 'sendFile settling after the client left');
      assert.equal(await descriptorsOn(large), 0, 'the file is closed');
    },
  );

  test(
    'a file that shrinks mid-body ends the connection instead of leaving the client waiting',
    T,
    async (t) => {
      const shrinking = join(dir, 'shrinking.bin');
      await writeFile(shrinking, Buffer.alloc(32 * 1024 * 1024, 1));
      t.after(() => rm(shrinking, { force: true }));
      let outcome: Promise<unknown> | undefined;
      const port = await serve(t, async (req, res) => {
        const sending = sendFile(req, res, shrinking);
        outcome = sending.then(
          () => 'resolved',
          (err: Error) => err.message,
        );
        await sending;
      });
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      let received = 0;
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await within(new Promise((resolve) => socket.once('data', resolve)), 5_000, 'first bytes');
      socket.pause();
      await truncate(shrinking, 0);
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
      socket.resume();
      await within(closed, 10_000, 'the server ending the connection');
      assert.ok(received < 32 * 1024 * 1024, `got ${received} bytes of a body that shrank`);
      assert.match(String(await within(outcome as Promise<unknown>, 5_000, 'outcome')), /shrank/);
    },
  );
});
