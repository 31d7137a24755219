import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { once } from 'node:events';
import { brotliCompressSync, createDeflateRaw, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { decode } from '../../src/client/decompress.js';
import { Session } from '../../src/client/index.js';
import { BodyTooLargeError, ContentEncodingError, SocketError, TimeoutError } from '../../src/errors.js';
import { serve, T } from './helpers.js';

const MiB = 1024 * 1024;

describe('decompression', () => {
  test('gzip, deflate, br and stacked encodings decode; headers stay as received', T, async (t) => {
    const text = 'héllo wörld '.repeat(100);
    const bodies: Record<string, [string, Buffer]> = {
      '/gzip': ['gzip', gzipSync(text)],
      '/deflate': ['deflate', deflateSync(text)],
      // Raw deflate under the name deflate, as some servers send it: browsers and curl take it.
      '/raw-deflate': ['deflate', deflateRawSync(text)],
      '/deflate-in-gzip': ['deflate, gzip', gzipSync(deflateRawSync(text))],
      '/br': ['br', brotliCompressSync(text)],
      '/stacked': ['gzip, br', brotliCompressSync(gzipSync(text))],
      '/identity': ['identity', Buffer.from(text)],
    };
    const { url } = await serve(t, (req, res) => {
      const [encoding, body] = bodies[req.url!]!;
      res.writeHead(200, { 'content-encoding': encoding, 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    for (const path of Object.keys(bodies)) {
      const res = await http.get(path);
      assert.equal(await res.text(), text, path);
      assert.equal(res.header('content-encoding'), bodies[path]![0]);
    }
    const streamed: Buffer[] = [];
    for await (const chunk of (await http.get('/br')).body) streamed.push(chunk);
    assert.equal(Buffer.concat(streamed).toString(), text);
    const raw = await http.get('/gzip', { decompress: false });
    assert.deepEqual(await raw.bytes(), bodies['/gzip']![1]);
  });

  test('six stacked encodings are a ContentEncodingError; an unknown one is left as is', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/six') {
        let body = Buffer.from('x');
        for (let i = 0; i < 6; i++) body = gzipSync(body);
        res.writeHead(200, { 'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip' });
        res.end(body);
      } else if (req.url === '/five') {
        let body = Buffer.from('x');
        for (let i = 0; i < 5; i++) body = gzipSync(body);
        res.writeHead(200, { 'content-encoding': 'gzip,gzip,gzip,gzip,gzip' });
        res.end(body);
      } else {
        res.writeHead(200, { 'content-encoding': 'zz-unknown' });
        res.end('as is');
      }
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects(http.get('/six'), (err) => {
      assert.ok(err instanceof ContentEncodingError);
      assert.equal(err.code, 'WK_ERR_CONTENT_ENCODING');
      return true;
    });
    assert.equal(await (await http.get('/five')).text(), 'x');
    assert.equal(await (await http.get('/other')).text(), 'as is');
  });

  test('corrupt gzip is a ContentEncodingError', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(Buffer.from('this is not gzip at all'));
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects((await http.get('/')).text(), ContentEncodingError);
  });

  test('a gzip bomb stops at maxBodySize, fast and with bounded memory', T, async (t) => {
    // 1 MiB of zeros compresses to ~1 KiB; 512 concatenated gzip members inflate to 512 MiB.
    const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 512 }, () => member));
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length });
      res.end(bomb);
    });
    const http = new Session({ baseUrl: url, maxBodySize: 4 * MiB });
    t.after(() => http.close());
    const before = process.memoryUsage().rss;
    const started = performance.now();
    await assert.rejects((await http.get('/')).bytes(), (err) => {
      assert.ok(err instanceof BodyTooLargeError);
      assert.equal(err.limit, 4 * MiB);
      return true;
    });
    assert.ok(performance.now() - started < 2_000, 'the limit stops decoding early');
    assert.ok(process.memoryUsage().rss - before < 64 * MiB, 'memory stays bounded');
    // The default limit, 64 MiB, applies to the decoded size too.
    const defaults = new Session({ baseUrl: url });
    t.after(() => defaults.close());
    await assert.rejects((await defaults.get('/')).text(), BodyTooLargeError);
  });

  test(
    'raw deflate: a first byte alone in its chunk, a stream read slowly, a bomb, corrupt data',
    T,
    async (t) => {
      const text = 'raw deflate, '.repeat(5000);
      const raw = deflateRawSync(text);
      // 256 MiB of zeros in raw deflate, about 250 KiB on the wire, made from one MiB of zeros.
      const deflater = createDeflateRaw({ level: 9 });
      const parts: Buffer[] = [];
      deflater.on('data', (part: Buffer) => parts.push(part));
      const zeros = Buffer.alloc(MiB);
      for (let i = 0; i < 256; i++) deflater.write(zeros);
      deflater.end();
      await once(deflater, 'end');
      const bomb = Buffer.concat(parts);
      const { url } = await serve(t, (req, res) => {
        res.writeHead(200, { 'content-encoding': 'deflate' });
        if (req.url === '/split') {
          res.write(raw.subarray(0, 1));
          setTimeout(() => res.end(raw.subarray(1)), 50);
        } else if (req.url === '/bomb') res.end(bomb);
        else res.end(Buffer.from('not deflate in any form'));
      });
      const http = new Session({ baseUrl: url });
      t.after(() => http.close());
      assert.equal(await (await http.get('/split')).text(), text);

      await assert.rejects((await http.get('/bomb', { maxBodySize: 4 * MiB })).bytes(), BodyTooLargeError);
      await assert.rejects((await http.get('/corrupt')).text(), ContentEncodingError);

      // A reader that stops after its first chunk: the decoder waits for it rather than inflating
      // the rest into the stream's buffer.
      const stream = decode(Readable.from([bomb]), ['deflate']);
      const reader = stream[Symbol.asyncIterator]();
      assert.ok(((await reader.next()).value as Buffer).length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(stream.readableLength <= MiB, `${stream.readableLength} bytes decoded ahead of the reader`);
      await reader.return?.();
    },
  );

  test('a body over maxBodySize by its Content-Length fails before reading', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-length': 3 * MiB });
      res.end(Buffer.alloc(3 * MiB));
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects((await http.get('/', { maxBodySize: MiB })).bytes(), BodyTooLargeError);
    assert.equal((await (await http.get('/')).bytes()).length, 3 * MiB);
  });

  test('a lying Content-Length is an error, not a hang', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      // Promise 100 bytes, send 10, then close (or stall, for /stall).
      res.socket!.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
      if (req.url === '/close') res.socket!.end();
    });
    const http = new Session({ baseUrl: url, timeout: { idle: 300 } });
    t.after(() => http.close());
    await assert.rejects((await http.get('/close')).text(), (err) => {
      assert.ok(err instanceof SocketError, String(err));
      return true;
    });
    const started = performance.now();
    await assert.rejects((await http.get('/stall')).text(), (err) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.phase, 'idle');
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
  });
});
