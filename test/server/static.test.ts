/**
 * createStatic on a real node:http server on 127.0.0.1:0, over a temp directory made by the
 * tests: index files, directory redirects, listings, dotfiles, precompressed siblings, and the
 * paths that try to leave the root (sent over raw TCP so that nothing normalises them first).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fsp, { mkdir, mkdtemp, realpath, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';
import { after, before, describe, mock, type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { HttpError } from '../../src/server/errors.js';
import {
  createStatic,
  parseRelativePath,
  staticDefaults,
  type StaticOptions,
} from '../../src/server/static.js';
import { within } from '../net/tcp-helpers.js';

const T = { timeout: 20_000 };

const SECRET = 'TOP-SECRET-do-not-serve';
const HELLO = 'Hello from the static root\n';
const APP_JS = 'export const answer = 42;\n'.repeat(50);
const BIG = randomBytes(200_000);

let base = '';
/** The static root; its parent holds the secret that must never be served. */
let root = '';

before(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'wirekit-static-')));
  root = join(base, 'public');
  const put = async (path: string, content: string | Buffer) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  };
  await writeFile(join(base, 'secret.txt'), SECRET);
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'secret.txt'), SECRET);
  await writeFile(join(base, 'outside', 'leak.txt.gz'), gzipSync(SECRET));
  await put('index.html', '<h1>root index</h1>\n');
  await put('hello.txt', HELLO);
  await put('big.bin', BIG);
  await put('sub/index.html', '<h1>sub index</h1>\n');
  await put('sub/home.htm', '<h1>sub home</h1>\n');
  await put('evil.com/index.html', '<h1>not evil</h1>\n');
  await put('.env', `TOKEN=${SECRET}\n`);
  await put('.hidden/file.txt', SECRET);
  await put('.well-known/security.txt', 'Contact: mailto:security@example.com\n');
  await put('app.js', APP_JS);
  await put('app.js.gz', gzipSync(APP_JS));
  await put('app.js.br', brotliCompressSync(APP_JS));
  await put('leak.txt', 'the plain leak.txt\n');
  await put('stale.css', 'fresh\n');
  await put('stale.css.gz', gzipSync('stale\n'));
  const past = new Date(Date.now() - 3_600_000);
  await utimes(join(root, 'stale.css.gz'), past, past);
  await put('docs/b.txt', 'b');
  await put('docs/a10.txt', 'a10');
  await put('docs/a9.txt', 'a9');
  await put('docs/<img src=x onerror=alert(1)>.txt', 'xss');
  await put('docs/a&b "q".txt', 'amp');
  await put('docs/.private', SECRET);
  await mkdir(join(root, 'docs', 'alpha'));
  await mkdir(join(root, 'docs', 'Zeta'));
  await symlink(join(base, 'outside'), join(root, 'docs', 'outlink'));
  await symlink(join(base, 'secret.txt'), join(root, 'link-out'));
  await symlink(join(base, 'outside'), join(root, 'dirlink-out'));
  await symlink('hello.txt', join(root, 'alias.txt'));
  await symlink(join(base, 'outside', 'leak.txt.gz'), join(root, 'leak.txt.gz'));
});

after(() => rm(base, { recursive: true, force: true }));

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Mount {
  /** URL prefix the handler is mounted at (no trailing slash; '' for the whole site). */
  prefix?: string;
  /** Hand the query string to the handler too. */
  withQuery?: boolean;
  root?: string;
}

/**
 * A server that mounts createStatic at `prefix` the way the app does: `false` becomes a 404
 * whose body says "fallthrough", an HttpError its status.
 */
async function serveStatic(t: TestContext, options: StaticOptions = {}, mount: Mount = {}): Promise<number> {
  const prefix = mount.prefix ?? '/static';
  const handle = createStatic(mount.root ?? root, options);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = mount.withQuery || q === -1 ? url : url.slice(0, q);
    const rest = path.slice(prefix.length);
    if (!path.startsWith(prefix) || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
      answer(res, 404, 'not mounted\n');
      return;
    }
    handle(req, res, rest).then(
      (answered) => {
        if (!answered) answer(res, 404, 'fallthrough\n');
      },
      (err: unknown) => {
        if (res.headersSent) return void res.destroy();
        const status = err instanceof HttpError ? err.status : 500;
        answer(res, status, `${(err as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}

function answer(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** One HTTP/1.1 exchange over raw TCP: the request target reaches the server byte for byte. */
async function raw(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Reply> {
  const socket = net.connect(port, '127.0.0.1');
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  // write, not end: node drops a half-closed connection before an async answer is ready.
  socket.write(
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${lines.join('')}\r\n`,
  );
  const read = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  const all = await within(read, 10_000, `${method} ${target}`);
  const end = all.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no response head for ${target}: ${all.toString('latin1')}`);
  const [statusLine = '', ...fields] = all.subarray(0, end).toString('latin1').split('\r\n');
  const parsed: Record<string, string> = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    parsed[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers: parsed, body: all.subarray(end + 4) };
}

describe('createStatic: files and directories', () => {
  test('a file under the root is served with its type and validators', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), HELLO);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(res.headers.etag ?? '', /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
  });

  test('a percent-encoded name is decoded once', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, `/static/docs/${encodeURIComponent('a&b "q".txt')}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'amp');
    assert.equal((await raw(port, '/static/%2568ello.txt')).status, 404, '%25 decodes to a literal %');
  });

  test('maxAge, immutable and headers reach the response; If-None-Match gets a 304', T, async (t) => {
    const port = await serveStatic(t, {
      maxAge: 600,
      immutable: true,
      headers: { 'X-Frame-Options': 'DENY' },
    });
    const res = await raw(port, '/static/hello.txt');
    assert.equal(res.headers['cache-control'], 'public, max-age=600, immutable');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    const again = await raw(port, '/static/hello.txt', { 'If-None-Match': res.headers.etag ?? '' });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers['cache-control'], 'public, max-age=600, immutable');
  });

  test('ranges work through static: 206 with Content-Range', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/big.bin', { Range: 'bytes=1000-1999' });
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-range'], `bytes 1000-1999/${BIG.length}`);
    assert.ok(res.body.equals(BIG.subarray(1000, 2000)));
  });

  test('HEAD answers headers only', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/big.bin', {}, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(BIG.length));
    assert.equal(res.body.length, 0);
  });

  test('a directory URL with its slash serves the index file', T, async (t) => {
    const port = await serveStatic(t);
    assert.equal((await raw(port, '/static/')).body.toString(), '<h1>root index</h1>\n');
    assert.equal((await raw(port, '/static/sub/')).body.toString(), '<h1>sub index</h1>\n');
    assert.equal((await raw(port, '/static/sub/./')).body.toString(), '<h1>sub index</h1>\n');
  });

  test('index takes a list tried in order, or false for none', T, async (t) => {
    const list = await serveStatic(t, { index: ['home.htm', 'index.html'] });
    assert.equal((await raw(list, '/static/sub/')).body.toString(), '<h1>sub home</h1>\n');
    assert.equal((await raw(list, '/static/')).body.toString(), '<h1>root index</h1>\n');
    const none = await serveStatic(t, { index: false });
    const res = await raw(none, '/static/sub/');
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), 'fallthrough\n');
  });

  test('a directory without its slash is a 301 to ./name/ that keeps the query', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/sub');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, './sub/');
    assert.equal(
      new URL(res.headers.location ?? '', `http://127.0.0.1:${port}/static/sub`).pathname,
      '/static/sub/',
    );
    assert.equal((await raw(port, '/static/sub?v=1&x=%20')).headers.location, './sub/?v=1&x=%20');
    const mountPoint = await raw(port, '/static');
    assert.equal(mountPoint.status, 301);
    assert.equal(mountPoint.headers.location, './static/');
    const head = await raw(port, '/static/sub', {}, 'HEAD');
    assert.equal(head.status, 301);
    assert.equal(head.body.length, 0);
  });

  test('with redirectDirectories false a directory without its slash is not found', T, async (t) => {
    const port = await serveStatic(t, { redirectDirectories: false });
    const res = await raw(port, '/static/sub');
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), 'fallthrough\n');
  });

  test('a directory redirect can never point off-site, even from //host or /\\host paths', T, async (t) => {
    const port = await serveStatic(t, {}, { prefix: '' });
    const origin = `http://127.0.0.1:${port}`;
    for (const target of ['//evil.com', '///evil.com', '/static/..//evil.com', '//evil.com?x=//a']) {
      const res = await raw(port, target);
      if (res.status !== 301) {
        assert.ok([400, 404].includes(res.status), `${target}: ${res.status}`);
        continue;
      }
      const location = res.headers.location ?? '';
      assert.ok(location.startsWith('./'), `${target}: Location ${location}`);
      assert.equal(new URL(location, origin + target).origin, origin, `${target}: Location ${location}`);
    }
    for (const target of ['/\\evil.com', '/%5cevil.com', '/%2fevil.com', '/%2F%2Fevil.com']) {
      const res = await raw(port, target);
      assert.equal(res.status, 404, target);
      assert.equal(res.headers.location, undefined, target);
    }
  });

  test('a file asked for with a trailing slash is not found', T, async (t) => {
    const port = await serveStatic(t);
    assert.equal((await raw(port, '/static/hello.txt/')).status, 404);
  });

  test('methods other than GET and HEAD fall through untouched', T, async (t) => {
    const port = await serveStatic(t);
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const res = await raw(port, '/static/hello.txt', { 'Content-Length': '0' }, method);
      assert.equal(res.status, 404, method);
      assert.equal(res.body.toString(), 'fallthrough\n', method);
    }
  });

  test('a query string in relativePath is ignored', T, async (t) => {
    const port = await serveStatic(t, {}, { withQuery: true });
    assert.equal((await raw(port, '/static/hello.txt?v=3')).body.toString(), HELLO);
    assert.equal((await raw(port, '/static/?v=3')).body.toString(), '<h1>root index</h1>\n');
  });

  test('a symlink that stays inside the root is followed', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/alias.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), HELLO);
  });

  test(
    'a root that is a symlink works, and keeps working when it is switched to another directory',
    T,
    async (t) => {
      const releases = join(base, 'releases');
      await mkdir(join(releases, 'v1'), { recursive: true });
      await mkdir(join(releases, 'v2'), { recursive: true });
      await writeFile(join(releases, 'v1', 'version.txt'), 'v1');
      await writeFile(join(releases, 'v2', 'version.txt'), 'v2');
      const current = join(base, 'current');
      await symlink(join(releases, 'v1'), current);
      t.after(() => rm(current, { force: true }));
      const port = await serveStatic(t, {}, { root: current });
      assert.equal((await raw(port, '/static/version.txt')).body.toString(), 'v1');
      await unlink(current);
      await symlink(join(releases, 'v2'), current);
      assert.equal((await raw(port, '/static/version.txt')).body.toString(), 'v2');
    },
  );

  test('a file that vanishes between realpath and open is not found, not a crash', T, async (t) => {
    const doomed = join(root, 'doomed.txt');
    await writeFile(doomed, 'soon gone');
    const original = fsp.realpath;
    const realpathMock = mock.method(fsp, 'realpath', async (path: string) => {
      const real = await original(path);
      if (real === doomed) await unlink(doomed);
      return real;
    });
    syncBuiltinESMExports();
    t.after(() => {
      mock.restoreAll();
      syncBuiltinESMExports();
    });
    const port = await serveStatic(t);
    const res = await raw(port, '/static/doomed.txt');
    assert.ok(realpathMock.mock.callCount() > 0, 'the handler went through the patched realpath');
    assert.equal(existsSync(doomed), false);
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), 'fallthrough\n');
  });

  test('a FIFO under the root is not found at once', T, async (t) => {
    const fifo = join(root, 'pipe');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('mkfifo is not available');
    t.after(() => rm(fifo, { force: true }));
    const port = await serveStatic(t);
    assert.equal((await raw(port, '/static/pipe')).status, 404);
  });
});

describe('createStatic: dotfiles', () => {
  const paths = [
    '/static/.env',
    '/static/.hidden/file.txt',
    '/static/.well-known/security.txt',
    '/static/%2eenv',
  ];

  test("dotfiles 'ignore' (the default) falls through as not found", T, async (t) => {
    const port = await serveStatic(t);
    for (const path of paths) {
      const res = await raw(port, path);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.toString(), 'fallthrough\n', path);
    }
  });

  test("dotfiles 'deny' rejects with 403", T, async (t) => {
    const port = await serveStatic(t, { dotfiles: 'deny' });
    for (const path of paths) assert.equal((await raw(port, path)).status, 403, path);
  });

  test("dotfiles 'allow' serves them (/.well-known/)", T, async (t) => {
    const port = await serveStatic(t, { dotfiles: 'allow' });
    const res = await raw(port, '/static/.well-known/security.txt');
    assert.equal(res.status, 200);
    assert.match(res.body.toString(), /^Contact:/);
  });
});

describe('createStatic: nothing outside the root', () => {
  /** Every way out we know of, with the status each earns. */
  const attempts: Array<[string, number]> = [
    ['/static/../secret.txt', 404],
    ['/static/sub/../../secret.txt', 404],
    ['/static/%2e%2e/secret.txt', 404],
    ['/static/%2E%2e/secret.txt', 404],
    ['/static/.%2e/secret.txt', 404],
    ['/static/%2e%2e%2fsecret.txt', 404],
    ['/static/..%2fsecret.txt', 404],
    ['/static/..%2Fsecret.txt', 404],
    ['/static/sub%2f..%2f..%2fsecret.txt', 404],
    ['/static/..\\secret.txt', 404],
    ['/static/..%5csecret.txt', 404],
    ['/static/%5c..%5csecret.txt', 404],
    ['/static/%2fetc%2fpasswd', 404],
    ['/static//etc/passwd', 404],
    ['/static/%252e%252e/secret.txt', 404],
    [`/static/${'..%2f'.repeat(12)}etc/passwd`, 404],
    ['/static/link-out', 404],
    ['/static/dirlink-out/secret.txt', 404],
    ['/static/dirlink-out/', 404],
    ['/static/%00', 400],
    ['/static/hello.txt%00.png', 400],
    ['/static/..%00/secret.txt', 400],
    ['/static/%', 400],
    ['/static/%zz/secret.txt', 400],
    ['/static/%c0%ae%c0%ae/secret.txt', 400],
    ['/static/..%c0%afsecret.txt', 400],
    ['/static/%e0%80%ae%e0%80%ae/secret.txt', 400],
  ];

  test('traversal attempts over raw TCP answer their 400/404 and never the secret', T, async (t) => {
    const port = await serveStatic(t, { listing: true });
    for (const [target, status] of attempts) {
      const res = await raw(port, target);
      assert.ok(!res.body.toString('latin1').includes(SECRET), `${target} leaked the secret`);
      assert.equal(res.status, status, target);
      // Answered by the handler, not turned away by node's parser before reaching it.
      const expected = status === 400 ? 'malformed path\n' : 'fallthrough\n';
      assert.equal(res.body.toString(), expected, target);
    }
  });

  test('with dotfiles allowed and a listing on, .. still does not get out', T, async (t) => {
    const port = await serveStatic(t, { dotfiles: 'allow', listing: true });
    for (const [target] of attempts) {
      const res = await raw(port, target);
      assert.ok([400, 403, 404].includes(res.status), `${target}: ${res.status}`);
      assert.ok(!res.body.toString('latin1').includes(SECRET), `${target} leaked the secret`);
    }
  });

  test('a precompressed sibling that is a symlink out of the root is not served', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/leak.txt', { 'Accept-Encoding': 'gzip' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.body.toString(), 'the plain leak.txt\n');
  });

  test('parseRelativePath only yields segments that keep a join inside the root (property)', () => {
    const alphabet = [
      'a',
      '.',
      '/',
      '\\',
      '%',
      '2',
      'e',
      'E',
      'f',
      'F',
      '5',
      'c',
      '0',
      '%2e',
      '%2f',
      '%5c',
      '%00',
    ];
    const piece = fc.constantFrom(...alphabet);
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 24 }),
        fc.constantFrom('ignore', 'deny', 'allow'),
        (parts, dot) => {
          const parsed = parseRelativePath(parts.join(''), dot as 'ignore' | 'deny' | 'allow');
          if (typeof parsed === 'number') return true;
          for (const segment of parsed.segments) {
            assert.ok(segment !== '..' && segment !== '.' && segment !== '', segment);
            assert.ok(!/[/\\\0]/.test(segment), segment);
            if (dot !== 'allow') assert.ok(!segment.startsWith('.'), segment);
          }
          const inner = relative(root, join(root, ...parsed.segments));
          assert.ok(inner !== '..' && !inner.startsWith(`..${sep}`) && !isAbsolute(inner), inner);
          return true;
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('createStatic: precompressed siblings', () => {
  test(
    'br or gzip is chosen from Accept-Encoding and decodes to the original with its Content-Type',
    T,
    async (t) => {
      const port = await serveStatic(t);
      const br = await raw(port, '/static/app.js', { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(br.headers.vary, 'Accept-Encoding');
      assert.equal(brotliDecompressSync(br.body).toString(), APP_JS);
      const gz = await raw(port, '/static/app.js', { 'Accept-Encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(gz.body).toString(), APP_JS);
      assert.notEqual(gz.headers.etag, br.headers.etag);
      const plain = await raw(port, '/static/app.js');
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers.vary, 'Accept-Encoding');
      assert.equal(plain.body.toString(), APP_JS);
    },
  );

  test('an index file gets its precompressed sibling too, and a stale sibling is skipped', T, async (t) => {
    await writeFile(join(root, 'sub', 'index.html.gz'), gzipSync('<h1>sub index</h1>\n'));
    t.after(() => rm(join(root, 'sub', 'index.html.gz'), { force: true }));
    const port = await serveStatic(t);
    const index = await raw(port, '/static/sub/', { 'Accept-Encoding': 'gzip' });
    assert.equal(index.headers['content-encoding'], 'gzip');
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(gunzipSync(index.body).toString(), '<h1>sub index</h1>\n');
    const stale = await raw(port, '/static/stale.css', { 'Accept-Encoding': 'gzip' });
    assert.equal(stale.headers['content-encoding'], undefined);
    assert.equal(stale.body.toString(), 'fresh\n');
  });

  test('precompressed false sends the original even when the client takes br', T, async (t) => {
    const port = await serveStatic(t, { precompressed: false });
    const res = await raw(port, '/static/app.js', { 'Accept-Encoding': 'br' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers.vary, undefined);
    assert.equal(res.body.toString(), APP_JS);
  });
});

describe('createStatic: listings', () => {
  test(
    'a directory without index lists directories first, then files by name, escaped, without dot entries',
    T,
    async (t) => {
      const port = await serveStatic(t, { listing: true });
      const res = await raw(port, '/static/docs/');
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['content-security-policy'], "default-src 'none'");
      const html = res.body.toString();
      const names = [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => m[2]);
      assert.deepEqual(names, [
        '../',
        'alpha/',
        'Zeta/',
        '&lt;img src=x onerror=alert(1)&gt;.txt',
        'a&amp;b &quot;q&quot;.txt',
        'a9.txt',
        'a10.txt',
        'b.txt',
      ]);
      assert.ok(!html.includes('<img'), 'names are escaped');
      assert.ok(html.includes('href="./%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt"'), 'hrefs are encoded');
      assert.ok(
        !html.includes('.private') && !html.includes('outlink'),
        'dot entries and links out are hidden',
      );
      assert.ok(html.includes('<title>Index of /docs/</title>'));
    },
  );

  test('listing links resolve to files that are served', T, async (t) => {
    const port = await serveStatic(t, { listing: true });
    const html = (await raw(port, '/static/docs/')).body.toString();
    const href = /href="(\.\/[^"]*a9\.txt)"/.exec(html)?.[1] ?? '';
    const url = new URL(href, `http://127.0.0.1:${port}/static/docs/`);
    assert.equal((await raw(port, url.pathname)).body.toString(), 'a9');
  });

  test('with dotfiles allowed, dot entries are listed', T, async (t) => {
    const port = await serveStatic(t, { listing: true, dotfiles: 'allow' });
    assert.ok((await raw(port, '/static/docs/')).body.toString().includes('.private'));
  });

  test('listing is off by default: a directory without index is not found', T, async (t) => {
    const port = await serveStatic(t);
    const res = await raw(port, '/static/docs/');
    assert.equal(res.status, 404);
    assert.equal(res.body.toString(), 'fallthrough\n');
  });
});

describe('createStatic: options', () => {
  test('the defaults list every key', () => {
    assert.deepEqual(Object.keys(staticDefaults).sort(), [
      'dotfiles',
      'headers',
      'immutable',
      'index',
      'listing',
      'maxAge',
      'precompressed',
      'redirectDirectories',
    ]);
  });

  test('nonsense options and a root that is not a directory throw at creation', () => {
    assert.throws(() => createStatic(join(base, 'missing')), TypeError);
    assert.throws(() => createStatic(join(base, 'secret.txt')), TypeError);
    assert.throws(() => createStatic(''), TypeError);
    assert.throws(() => createStatic(root, { index: '' }), TypeError);
    assert.throws(() => createStatic(root, { index: ['../secret.txt'] }), TypeError);
    assert.throws(() => createStatic(root, { index: true as unknown as false }), TypeError);
    assert.throws(() => createStatic(root, { dotfiles: 'hide' as 'deny' }), TypeError);
    assert.throws(() => createStatic(root, { listing: 'yes' as unknown as boolean }), TypeError);
    assert.throws(() => createStatic(root, { redirectDirectories: 1 as unknown as boolean }), TypeError);
    assert.throws(() => createStatic(root, { precompressed: 'no' as unknown as boolean }), TypeError);
    assert.throws(() => createStatic(root, { maxAge: -1 }), RangeError);
    assert.throws(() => createStatic(root, { headers: { 'Content-Length': '1' } }), TypeError);
  });
});
