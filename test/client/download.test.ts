import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type DownloadProgress, Session } from '../../src/client/index.js';
import { HttpStatusError, SocketError } from '../../src/errors.js';
import { serve, T } from './helpers.js';

const content = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 31) % 251));

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wirekit-download-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function session(t: TestContext): Session {
  const http = new Session();
  t.after(() => http.close());
  return http;
}

/**
 * A file server with Range/If-Range. `cut` > 0: the first full answer stops after that many
 * bytes and the connection is destroyed.
 */
async function fileServer(t: TestContext, state: { body: Buffer; etag: string; cut: number }) {
  const seen: Array<{ range?: string; ifRange?: string; acceptEncoding?: string }> = [];
  const { url } = await serve(t, (req, res) => {
    seen.push({
      range: req.headers.range as string | undefined,
      ifRange: req.headers['if-range'] as string | undefined,
      acceptEncoding: req.headers['accept-encoding'],
    });
    const { body, etag } = state;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && req.headers['if-range'] === etag) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}`, etag });
        res.end();
        return;
      }
      res.writeHead(206, {
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': body.length - start,
        etag,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, etag, 'content-type': 'application/octet-stream' });
    if (state.cut > 0) {
      const cut = state.cut;
      state.cut = 0;
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    res.end(body);
  });
  return { url: `${url}/file.bin`, seen };
}

describe('Session.download', () => {
  test('writes the body to the file and resolves with path, bytes, status', T, async (t) => {
    const dir = await tempDir(t);
    const { url, seen } = await fileServer(t, { body: content, etag: '"v1"', cut: 0 });
    const result = await session(t).download(url, join(dir, 'out.bin'));
    assert.deepEqual(result, {
      path: join(dir, 'out.bin'),
      bytes: content.length,
      status: 200,
      resumed: false,
    });
    assert.ok((await readFile(join(dir, 'out.bin'))).equals(content));
    assert.deepEqual(await readdir(dir), ['out.bin']);
    assert.equal(seen[0]!.acceptEncoding, 'identity');
  });

  test('a failed download leaves no file and no temporary file', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await fileServer(t, { body: content, etag: '"v1"', cut: 100_000 });
    await assert.rejects(session(t).download(url, join(dir, 'out.bin')), SocketError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('an existing file is only replaced once the new one is complete', T, async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'out.bin'), 'old');
    const { url } = await fileServer(t, { body: content, etag: '"v1"', cut: 100_000 });
    await assert.rejects(session(t).download(url, join(dir, 'out.bin')), SocketError);
    assert.equal(await readFile(join(dir, 'out.bin'), 'utf8'), 'old');
    assert.deepEqual(await readdir(dir), ['out.bin']);
  });

  test(
    'resume: a cut transfer keeps its partial file; the next call asks for the rest with Range and If-Range',
    T,
    async (t) => {
      const dir = await tempDir(t);
      const state = { body: content, etag: '"v1"', cut: 100_000 };
      const { url, seen } = await fileServer(t, state);
      const http = session(t);
      const path = join(dir, 'out.bin');
      await assert.rejects(http.download(url, path, { resume: true }), SocketError);
      assert.deepEqual((await readdir(dir)).sort(), ['out.bin.part', 'out.bin.part.json']);
      const result = await http.download(url, path, { resume: true });
      assert.deepEqual(result, { path, bytes: content.length, status: 206, resumed: true });
      assert.ok((await readFile(path)).equals(content));
      assert.deepEqual(await readdir(dir), ['out.bin']);
      assert.equal(seen[1]!.range, 'bytes=100000-');
      assert.equal(seen[1]!.ifRange, '"v1"');
    },
  );

  test('resume: when If-Range no longer matches, the 200 starts the file over', T, async (t) => {
    const dir = await tempDir(t);
    const state = { body: content, etag: '"v1"', cut: 100_000 };
    const { url, seen } = await fileServer(t, state);
    const http = session(t);
    const path = join(dir, 'out.bin');
    await assert.rejects(http.download(url, path, { resume: true }), SocketError);
    const changed = Buffer.from('a new version of the file');
    state.body = changed;
    state.etag = '"v2"';
    const result = await http.download(url, path, { resume: true });
    assert.deepEqual(result, { path, bytes: changed.length, status: 200, resumed: false });
    assert.ok((await readFile(path)).equals(changed));
    assert.equal(seen[1]!.ifRange, '"v1"');
    assert.deepEqual(await readdir(dir), ['out.bin']);
  });

  test('resume: a 416 for exactly the partial size means the file was complete', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await fileServer(t, { body: content, etag: '"v1"', cut: 0 });
    const path = join(dir, 'out.bin');
    await writeFile(`${path}.part`, content);
    await writeFile(`${path}.part.json`, JSON.stringify({ url, validator: '"v1"' }));
    const result = await session(t).download(url, path, { resume: true });
    assert.deepEqual(result, { path, bytes: content.length, status: 416, resumed: true });
    assert.ok((await readFile(path)).equals(content));
    assert.deepEqual(await readdir(dir), ['out.bin']);
  });

  test('resume: a partial file larger than the resource starts over', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await fileServer(t, { body: content, etag: '"v1"', cut: 0 });
    const path = join(dir, 'out.bin');
    await writeFile(`${path}.part`, Buffer.concat([content, Buffer.from('junk')]));
    await writeFile(`${path}.part.json`, JSON.stringify({ url, validator: '"v1"' }));
    const result = await session(t).download(url, path, { resume: true });
    assert.deepEqual(result, { path, bytes: content.length, status: 200, resumed: false });
    assert.ok((await readFile(path)).equals(content));
  });

  test('progress events are monotonic and end at the total', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await fileServer(t, { body: content, etag: '"v1"', cut: 0 });
    const events: DownloadProgress[] = [];
    await session(t).download(url, join(dir, 'out.bin'), {
      progressInterval: 0,
      onProgress: (p) => events.push(p),
    });
    assert.ok(events.length >= 2, `${events.length} events`);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.transferred >= events[i - 1]!.transferred);
    assert.deepEqual(events.at(-1), { transferred: content.length, total: content.length, percent: 100 });
    assert.ok(events.every((e) => e.total === content.length));
  });

  test('a gzip Content-Encoding is stored as served, not decoded', T, async (t) => {
    const dir = await tempDir(t);
    const gz = gzipSync('hello '.repeat(1000));
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/gzip' });
      res.end(gz);
    });
    const result = await session(t).download(`${url}/a.tar.gz`, join(dir, 'a.tar.gz'));
    assert.equal(result.bytes, gz.length);
    assert.ok((await readFile(join(dir, 'a.tar.gz'))).equals(gz));
  });

  test('a 404 rejects with HttpStatusError and writes nothing', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
    });
    const err = await session(t)
      .download(`${url}/x`, join(dir, 'x'))
      .catch((e: unknown) => e);
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 404);
    assert.equal(await err.response.text(), 'not here');
    assert.deepEqual(await readdir(dir), []);
  });

  test('the path can be chosen from the response', T, async (t) => {
    const dir = await tempDir(t);
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-disposition': 'attachment; filename="report.csv"' });
      res.end('a,b\n');
    });
    const result = await session(t).download(`${url}/x`, (res) =>
      join(dir, /filename="([^"]+)"/.exec(res.header('content-disposition')!)![1]!),
    );
    assert.equal(result.path, join(dir, 'report.csv'));
    assert.equal(await readFile(result.path, 'utf8'), 'a,b\n');
    await assert.rejects(
      session(t).download(`${url}/x`, () => 'y', { resume: true }),
      TypeError,
    );
  });
});
