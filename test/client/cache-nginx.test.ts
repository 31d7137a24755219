/**
 * The session's cache against a real nginx serving static files (ETag, Last-Modified, gzip,
 * `expires`, `add_header Cache-Control`). nginx's access log (status, URI, If-None-Match,
 * If-Modified-Since) proves what was answered from the cache (no line), revalidated (304) or
 * fetched (200). nginx runs in the foreground, every path it writes in a temp directory.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, type TestContext, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { hasCommand, needPeer, sleep } from '../helpers.js';
import { freePort } from '../net/tcp-helpers.js';

const T = { timeout: 30_000 };
// Not on the PATH of a non-root shell on Debian.
const NGINX = hasCommand('nginx', ['-v']) ? 'nginx' : '/usr/sbin/nginx';
const TEXT = 'The quick brown fox jumps over the lazy dog.\n'.repeat(200);

interface Nginx {
  url: string;
  www: string;
  child: ChildProcess;
  dir: string;
}

let started: Promise<Nginx> | undefined;

function config(dir: string, port: number): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
    types { text/plain txt; application/octet-stream bin; }
    default_type application/octet-stream;
    log_format cache '$status "$uri" "$http_if_none_match" "$http_if_modified_since"';
    access_log ${dir}/access.log cache;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    gzip on;
    gzip_types text/plain;
    gzip_min_length 100;
    gzip_vary on;
    server {
        listen 127.0.0.1:${port};
        root ${dir}/www;
        location /fresh/ { expires 1h; }
        location /nocache/ { add_header Cache-Control "no-cache"; }
    }
}
`;
}

async function answers(url: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/ready.txt`);
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  return false;
}

async function start(): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'wirekit-cache-nginx-'));
  // nginx's worker may run as another user (nobody, when the tests run as root): it must read www.
  await chmod(dir, 0o755);
  const www = join(dir, 'www');
  await mkdir(join(dir, 'tmp'), { recursive: true });
  for (const sub of ['fresh', 'nocache']) await mkdir(join(www, sub), { recursive: true });
  await writeFile(join(www, 'ready.txt'), 'ready');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, config(dir, port));
    const child = spawn(NGINX, ['-g', 'daemon off;', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: 'ignore',
    });
    const url = `http://127.0.0.1:${port}`;
    if (await answers(url)) return { url, www, child, dir };
    child.kill('SIGKILL');
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    if (!log.includes('Address already in use') || attempt === 4)
      throw new Error(`nginx did not start on ${url}:\n${log}`);
  }
}

after(async () => {
  const nginx = await started?.catch(() => undefined);
  if (nginx === undefined) return;
  nginx.child.kill('SIGTERM');
  await once(nginx.child, 'exit');
  await rm(nginx.dir, { recursive: true, force: true });
});

/** The running nginx (started once for the file), or undefined when the test was skipped. */
async function nginx(t: TestContext): Promise<Nginx | undefined> {
  if (!needPeer(t, NGINX, ['-v'])) return undefined;
  started ??= start();
  return started;
}

interface Line {
  status: number;
  uri: string;
  ifNoneMatch: string;
  ifModifiedSince: string;
}

/** The access-log lines for `uri`, once there are `count` (nginx logs after it answered). */
async function logFor(n: Nginx, uri: string, count: number): Promise<Line[]> {
  let lines: Line[] = [];
  for (let i = 0; i < 100; i++) {
    const log = await readFile(join(n.dir, 'access.log'), 'utf8');
    lines = log
      .split('\n')
      .map((l) => /^(\d+) "([^"]*)" "([^"]*)" "([^"]*)"$/.exec(l))
      .filter((m) => m !== null && m[2] === uri)
      .map((m) => ({
        status: Number(m![1]),
        uri: m![2]!,
        // nginx writes a quote inside a logged value as \x22.
        ifNoneMatch: m![3]!.replaceAll('\\x22', '"'),
        ifModifiedSince: m![4]!,
      }));
    if (lines.length >= count) break;
    await sleep(20);
  }
  // A little longer, so a line that should not be there has had its chance to appear.
  await sleep(100);
  return lines;
}

const statuses = (lines: Line[]): number[] => lines.map((l) => l.status);

/** GETs `path` and reads its text; returns the response's cache flags and the text. */
async function get(http: Session, path: string) {
  const res = await http.get(path);
  const text = await res.text();
  return { status: res.status, fromCache: res.fromCache, revalidated: res.revalidated, text, res };
}

describe('Session cache against nginx', () => {
  test(
    'a file just written (no heuristic freshness) is revalidated with its ETag: 200, then 304s',
    T,
    async (t) => {
      const n = await nginx(t);
      if (n === undefined) return;
      const file = join(n.www, 'new.txt');
      await writeFile(file, TEXT);
      // Last-Modified a minute ahead, not this second: a write at x.999 s answered at x+1 s would
      // give the response 100 ms of heuristic freshness and skip a revalidation.
      const ahead = new Date(Date.now() + 60_000);
      await utimes(file, ahead, ahead);
      const http = new Session({ baseUrl: n.url, cache: true });
      t.after(() => http.close());
      const first = await get(http, '/new.txt');
      assert.deepEqual([first.fromCache, first.text === TEXT], [false, true]);
      assert.equal(first.res.header('content-encoding'), 'gzip');
      const second = await get(http, '/new.txt');
      const third = await get(http, '/new.txt');
      for (const r of [second, third]) {
        assert.deepEqual([r.status, r.fromCache, r.revalidated], [200, true, true]);
        assert.equal(r.text, TEXT);
      }
      const lines = await logFor(n, '/new.txt', 3);
      assert.deepEqual(statuses(lines), [200, 304, 304]);
      assert.equal(lines[0]!.ifNoneMatch, '-');
      assert.match(lines[1]!.ifNoneMatch, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      assert.notEqual(lines[1]!.ifModifiedSince, '-');
    },
  );

  test('a file modified 10 hours ago is fresh by heuristic (1 hour): no second request', T, async (t) => {
    const n = await nginx(t);
    if (n === undefined) return;
    const file = join(n.www, 'old.txt');
    await writeFile(file, TEXT);
    const tenHoursAgo = new Date(Date.now() - 10 * 3_600_000);
    await utimes(file, tenHoursAgo, tenHoursAgo);
    const http = new Session({ baseUrl: n.url, cache: true });
    t.after(() => http.close());
    await get(http, '/old.txt');
    const hit = await get(http, '/old.txt');
    assert.deepEqual([hit.fromCache, hit.revalidated, hit.text === TEXT], [true, false, true]);
    assert.deepEqual(statuses(await logFor(n, '/old.txt', 1)), [200]);
  });

  test('`expires 1h` is fresh: a binary file is served from the cache byte for byte', T, async (t) => {
    const n = await nginx(t);
    if (n === undefined) return;
    const bytes = Buffer.alloc(512 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    await writeFile(join(n.www, 'fresh/data.bin'), bytes);
    const http = new Session({ baseUrl: n.url, cache: true });
    t.after(() => http.close());
    for (let i = 0; i < 3; i++) {
      const res = await http.get('/fresh/data.bin');
      assert.equal(res.fromCache, i > 0);
      assert.ok((await res.bytes()).equals(bytes));
      assert.equal(res.header('cache-control'), 'max-age=3600');
    }
    assert.deepEqual(statuses(await logFor(n, '/fresh/data.bin', 1)), [200]);
  });

  test(
    '`Cache-Control: no-cache` is revalidated every time; a changed file replaces the entry',
    T,
    async (t) => {
      const n = await nginx(t);
      if (n === undefined) return;
      const file = join(n.www, 'nocache/page.txt');
      await writeFile(file, TEXT);
      const http = new Session({ baseUrl: n.url, cache: true });
      t.after(() => http.close());
      await get(http, '/nocache/page.txt');
      const again = await get(http, '/nocache/page.txt');
      assert.deepEqual([again.fromCache, again.revalidated], [true, true]);
      const changed = `${TEXT}changed\n`;
      await writeFile(file, changed);
      const later = new Date(Date.now() + 5_000);
      await utimes(file, later, later);
      const fetched = await get(http, '/nocache/page.txt');
      assert.deepEqual([fetched.fromCache, fetched.text === changed], [false, true]);
      const after304 = await get(http, '/nocache/page.txt');
      assert.deepEqual([after304.revalidated, after304.text === changed], [true, true]);
      const lines = await logFor(n, '/nocache/page.txt', 4);
      assert.deepEqual(statuses(lines), [200, 304, 200, 304]);
      assert.notEqual(lines[2]!.ifNoneMatch, lines[3]!.ifNoneMatch);
    },
  );

  test(
    'Vary: Accept-Encoding: a session without decompression gets its own (identity) entry',
    T,
    async (t) => {
      const n = await nginx(t);
      if (n === undefined) return;
      await writeFile(join(n.www, 'fresh/vary.txt'), TEXT);
      const gzip = new Session({ baseUrl: n.url, cache: { dir: join(n.dir, 'disk-cache') } });
      const plain = new Session({
        baseUrl: n.url,
        cache: { dir: join(n.dir, 'disk-cache') },
        decompress: false,
      });
      t.after(() => Promise.all([gzip.close(), plain.close()]));
      const zipped = await get(gzip, '/fresh/vary.txt');
      assert.equal(zipped.res.header('vary'), 'Accept-Encoding');
      const raw = await get(plain, '/fresh/vary.txt');
      assert.deepEqual(
        [raw.fromCache, raw.res.header('content-encoding'), raw.text === TEXT],
        [false, undefined, true],
      );
      await gzip.close();
      await plain.close();
      const again = new Session({ baseUrl: n.url, cache: { dir: join(n.dir, 'disk-cache') } });
      t.after(() => again.close());
      const hit = await get(again, '/fresh/vary.txt');
      assert.deepEqual(
        [hit.fromCache, hit.res.header('content-encoding'), hit.text === TEXT],
        [true, 'gzip', true],
      );
      assert.deepEqual(statuses(await logFor(n, '/fresh/vary.txt', 2)), [200, 200]);
    },
  );
});
