import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/server/index.js';
import { startTinyproxy } from '../client/proxy-peers.js';
import { needPeer } from '../helpers.js';
import { bin, type Result, run } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wirekit-http-cli-'));
const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 13) % 256));
let hits = 0;
let base = '';
let close: () => Promise<void> = async () => undefined;

const app = new App();
app.use((_ctx, next) => {
  hits++;
  return next();
});
app.all('/echo', async (ctx) => ({
  method: ctx.method,
  url: ctx.url,
  headers: ctx.headers,
  body: await ctx.text(),
}));
app.get('/status/:code', (ctx) => {
  ctx.status = Number(ctx.params.code);
  if (ctx.status >= 300 && ctx.status < 400) ctx.set('location', '/echo');
  return `status ${ctx.params.code}`;
});
app.get('/redirect/:n', (ctx) => {
  const n = Number(ctx.params.n);
  return ctx.redirect(n > 1 ? `/redirect/${n - 1}` : '/echo');
});
app.get('/loop', (ctx) => ctx.redirect('/loop'));
app.get('/hang', () => new Promise<never>(() => undefined));
app.get('/login', (ctx) => {
  ctx.cookies.set('sid', 'abc123', { path: '/' });
  return { ok: true };
});
app.get('/bytes', (ctx) => {
  ctx.set('content-type', 'application/octet-stream');
  return bytes;
});
app.get('/files/report', (ctx) => {
  ctx.set('content-disposition', 'attachment; filename="report.csv"');
  ctx.set('content-type', 'text/csv');
  return 'a,b\n1,2\n';
});
app.get('/files/data.txt', (ctx) => {
  ctx.set('content-type', 'text/plain');
  return 'data\n';
});
const flaky = new Map<string, number>();
app.get('/flaky/:key', (ctx) => {
  const n = (flaky.get(ctx.params.key!) ?? 0) + 1;
  flaky.set(ctx.params.key!, n);
  if (n < 3) ctx.status = 503;
  return `attempt ${n}`;
});
let cacheHits = 0;
app.get('/cached', (ctx) => {
  cacheHits++;
  ctx.set('cache-control', 'max-age=60');
  return `cached ${cacheHits}`;
});
app.get('/page', (ctx) => {
  ctx.set('content-type', 'text/html; charset=utf-8');
  return '<a href="/one">one</a> <a href="two?x=1">two</a> <a href="https://other.example/">x</a>';
});

before(async () => {
  const server = await app.listen({ port: 0, host: '127.0.0.1' });
  base = server.url.replace(/\/$/, '');
  close = () => server.close({ timeout: 200 });
});
after(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const echoOf = (result: Result): Echo => JSON.parse(result.stdout) as Echo;

/** Runs the bin in `cwd` (run() has no cwd). */
async function runIn(cwd: string, args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'close')) as [number | null];
  const out = Buffer.concat(chunks);
  return { code, stdout: out.toString(), bytes: out, stderr };
}

describe('wirekit get|post|... (httpie style)', () => {
  test('items become the request: JSON fields, raw JSON, headers, query; httpie Accept for JSON', async () => {
    const result = await run([
      'post',
      `${base}/echo`,
      'name=ann',
      'age:=30',
      'user[city]=Oslo',
      'X-Test:yes',
      'q==a b',
      '-b',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const got = echoOf(result);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/echo?q=a+b');
    assert.equal(got.headers['x-test'], 'yes');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers.accept, 'application/json, */*;q=0.5');
    assert.deepEqual(JSON.parse(got.body), { name: 'ann', age: 30, user: { city: 'Oslo' } });
  });

  test('each method command sends its method', async () => {
    for (const method of ['put', 'patch', 'delete', 'options']) {
      const result = await run([method, `${base}/echo`, '-b']);
      assert.equal(echoOf(result).method, method.toUpperCase());
    }
    const head = await run(['head', `${base}/echo`]);
    assert.match(head.stdout, /^HTTP\/1\.1 200 OK\n/);
    assert.ok(head.stdout.endsWith('\n\n'));
  });

  test('--form sends the fields urlencoded', async () => {
    const got = echoOf(await run(['post', `${base}/echo`, '--form', 'username=john', 'password=p&w', '-b']));
    assert.equal(got.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(got.body, 'username=john&password=p%26w');
  });

  test('--multipart sends fields and a file part', async () => {
    const file = join(dir, 'note.txt');
    writeFileSync(file, 'file contents\n');
    const got = echoOf(await run(['post', `${base}/echo`, '--multipart', 'title=hi', `doc@${file}`, '-b']));
    assert.match(got.headers['content-type']!, /^multipart\/form-data; boundary=/);
    assert.match(got.body, /name="title"\r\n\r\nhi\r\n/);
    assert.match(
      got.body,
      /name="doc"; filename="note\.txt"\r\nContent-Type: text\/plain\r\n\r\nfile contents\n/,
    );
  });

  test('default output: status line, headers, blank line, body', async () => {
    const result = await run(['get', `${base}/echo`]);
    const [head, body] = result.stdout.split('\n\n');
    assert.match(head!, /^HTTP\/1\.1 200 OK\n/);
    assert.match(head!, /\ncontent-type: application\/json/);
    assert.equal((JSON.parse(body!) as Echo).url, '/echo');
  });

  test('-h prints the head only, -b the body only', async () => {
    const headers = await run(['get', `${base}/echo`, '-h']);
    assert.match(headers.stdout, /^HTTP\/1\.1 200 OK\n(.+: .+\n)+\n$/);
    const body = await run(['get', `${base}/echo`, '-b']);
    assert.equal(echoOf(body).url, '/echo');
  });

  test('-v prints the request as sent, then the response', async () => {
    const result = await run(['post', `${base}/echo?a=1`, 'k=v', 'X-Mine:1', '-v']);
    const port = new URL(base).port;
    assert.match(
      result.stdout,
      new RegExp(`^POST /echo\\?a=1 HTTP/1\\.1\\nhost: 127\\.0\\.0\\.1:${port}\\n`),
    );
    assert.match(result.stdout, /\nx-mine: 1\n/);
    assert.match(result.stdout, /\ncontent-length: 9\n\n\{"k":"v"\}\n\nHTTP\/1\.1 200 OK\n/);
  });

  test('--json prints one object: status, headers, body, timings', async () => {
    const result = await run(['get', `${base}/echo`, '--json']);
    const object = JSON.parse(result.stdout) as {
      status: number;
      headers: Record<string, string>;
      body: Echo;
      timings: { total: number };
      redirects: unknown[];
    };
    assert.equal(object.status, 200);
    assert.match(object.headers['content-type']!, /json/);
    assert.equal(object.body.url, '/echo');
    assert.equal(typeof object.timings.total, 'number');
    assert.deepEqual(object.redirects, []);
    const binary = JSON.parse((await run(['get', `${base}/bytes`, '--json'])).stdout) as {
      bodyBase64: string;
    };
    assert.ok(Buffer.from(binary.bodyBase64, 'base64').equals(bytes));
  });

  test('--pretty format indents JSON; a pipe gets the bytes as served', async () => {
    const pretty = await run(['get', `${base}/echo`, '-b', '--pretty', 'format']);
    assert.match(pretty.stdout, /^\{\n {4}"method": "GET",\n/);
    const raw = await run(['get', `${base}/bytes`, '-b']);
    assert.ok(raw.bytes.equals(bytes));
  });

  test('--check-status exits 3, 4, 5 (httpie codes); without it a 404 exits 0', async () => {
    for (const [status, code] of [
      [302, 3],
      [404, 4],
      [503, 5],
      [200, 0],
    ] as const) {
      const result = await run(['get', `${base}/status/${status}`, '--check-status']);
      assert.equal(result.code, code, `status ${status}`);
      if (code !== 0) assert.match(result.stderr, new RegExp(`warning: HTTP ${status}`));
    }
    assert.equal((await run(['get', `${base}/status/404`])).code, 0);
  });

  test('a timeout exits 2', async () => {
    const result = await run(['get', `${base}/hang`, '--timeout', '200']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /timed out after 200 ms/);
  });

  test('redirects are printed, not followed, unless --follow; too many exits 6', async () => {
    const shown = await run(['get', `${base}/redirect/2`]);
    assert.match(shown.stdout, /^HTTP\/1\.1 302 Found\n/);
    assert.match(shown.stdout, /\nlocation: \/redirect\/1\n/);
    const followed = await run(['get', `${base}/redirect/2`, '--follow', '-b']);
    assert.equal(echoOf(followed).url, '/echo');
    const loop = await run(['get', `${base}/loop`, '--follow', '--max-redirects', '3']);
    assert.equal(loop.code, 6);
    assert.match(loop.stderr, /more than 3 redirects/);
  });

  test('--offline prints the request and sends nothing', async () => {
    const before = hits;
    const result = await run(['post', `${base}/echo`, 'a=1', 'X-K:v', '--offline']);
    assert.equal(result.code, 0);
    assert.equal(hits, before);
    assert.match(result.stdout, /^POST \/echo HTTP\/1\.1\nhost: 127\.0\.0\.1:\d+\n/);
    assert.match(result.stdout, /\nx-k: v\n/);
    assert.match(result.stdout, /\ncontent-length: 9\n\n\{"a":"1"\}\n/);
    const shorthand = await run(['get', ':3000/x', '--offline']);
    assert.match(shorthand.stdout, /^GET \/x HTTP\/1\.1\nhost: localhost:3000\n/);
  });

  test('--session FILE keeps a cookie and a header between runs', async () => {
    const file = join(dir, 'session.json');
    assert.equal((await run(['get', `${base}/login`, 'X-Token:t1', '--session', file])).code, 0);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const got = echoOf(await run(['get', `${base}/echo`, '--session', file, '-b']));
    assert.equal(got.headers['x-token'], 't1');
    assert.equal(got.headers.cookie, 'sid=abc123');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { headers: Record<string, string> };
    assert.deepEqual(saved.headers, { 'x-token': 't1' });
  });

  test('-o FILE writes the body, nothing on stdout', async () => {
    const file = join(dir, 'out.bin');
    const result = await run(['get', `${base}/bytes`, '-o', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
    assert.ok(readFileSync(file).equals(bytes));
    assert.match(result.stderr, /^HTTP\/1\.1 200 OK\n/);
    assert.match(result.stderr, /Done\. 70\.0 kB/);
  });

  test('--download names the file from Content-Disposition, else the URL; never overwrites', async () => {
    const cwd = mkdtempSync(join(dir, 'dl-'));
    assert.equal((await runIn(cwd, ['get', `${base}/files/report`, '--download'])).code, 0);
    assert.equal(readFileSync(join(cwd, 'report.csv'), 'utf8'), 'a,b\n1,2\n');
    await runIn(cwd, ['get', `${base}/files/data.txt`, '-d']);
    await runIn(cwd, ['get', `${base}/files/data.txt`, '-d']);
    assert.deepEqual(readdirSync(cwd).sort(), ['data.txt', 'data.txt-1', 'report.csv']);
    const missing = await runIn(cwd, ['get', `${base}/status/404`, '-d']);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /HTTP 404 Not Found: nothing saved/);
    assert.equal(readdirSync(cwd).length, 3);
  });

  test('colors: none on a pipe, forced by FORCE_COLOR, never with NO_COLOR', async () => {
    const plain = await run(['get', `${base}/echo`], {
      env: { NO_COLOR: undefined, FORCE_COLOR: undefined },
    });
    assert.ok(!plain.stdout.includes('\u001b['));
    const forced = await run(['get', `${base}/echo`, '-h'], {
      env: { NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    assert.ok(forced.stdout.startsWith(`\u001b[32mHTTP/1.1 200 OK\u001b[39m\n\u001b[36m`), forced.stdout);
    const no = await run(['get', `${base}/echo`, '-h'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    assert.ok(!no.stdout.includes('\u001b['));
  });

  test('--retry N retries a 503; without it the 503 is the answer', async () => {
    const retried = await run(['get', `${base}/flaky/a`, '--retry', '2', '-b']);
    assert.equal(retried.stdout, 'attempt 3');
    const once = await run(['get', `${base}/flaky/b`, '-h']);
    assert.match(once.stdout, /^HTTP\/1\.1 503 /);
  });

  test('--cache DIR answers the second run from the disk cache', async () => {
    const cache = join(dir, 'cache');
    assert.equal((await run(['get', `${base}/cached`, '-b', '--cache', cache])).stdout, 'cached 1');
    assert.equal((await run(['get', `${base}/cached`, '-b', '--cache', cache])).stdout, 'cached 1');
    assert.equal((await run(['get', `${base}/cached`, '-b'])).stdout, 'cached 2');
  });

  test('--proxy sends the request through tinyproxy with the URL credentials', async (t) => {
    if (!needPeer(t, '/usr/bin/tinyproxy', ['-v'])) return;
    const { port } = await startTinyproxy(t, { user: 'user', pass: 'pass' });
    const result = await run(['get', `${base}/echo`, '--proxy', `http://user:pass@127.0.0.1:${port}`, '-b']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(echoOf(result).headers.via!, /tinyproxy/);
    assert.equal((await run(['get', `${base}/echo`, '--proxy', 'not a url'])).code, 2);
  });

  test('bad usage exits 2', async () => {
    for (const args of [
      ['get'],
      ['get', `${base}/echo`, 'not-an-item'],
      ['get', `${base}/echo`, '--pretty', 'loud'],
      ['get', `${base}/echo`, '--continue'],
      ['get', `${base}/echo`, '--timeout', 'soon'],
      ['post', `${base}/echo`, 'f@/does/not/exist'],
      ['get', 'ftp://example.org/'],
      ['get', `${base}/echo`, '--bogus'],
      ['get', `${base}/echo`, '-o'],
      ['get', `${base}/echo`, '--max-redirects', 'x'],
      ['frob'],
    ]) {
      const result = await run(args);
      assert.equal(result.code, 2, `wirekit ${args.join(' ')}: ${result.stderr}`);
      // One line, wirekit's form, whoever found the mistake (wirekit or its argument parser).
      assert.match(result.stderr, /^wirekit: \S.*\n$/, `wirekit ${args.join(' ')}: ${result.stderr}`);
    }
  });
});

describe('wirekit links', () => {
  test('links FILE --base resolves every link against the base', async () => {
    const file = join(dir, 'page.html');
    writeFileSync(
      file,
      '<a href="/a">A</a><a href="b.html">B</a><img src="img/x.png"><a href="mailto:x@y">m</a>',
    );
    const result = await run(['links', file, '--base', 'https://example.com/dir/']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      'https://example.com/a\nhttps://example.com/dir/b.html\nhttps://example.com/dir/img/x.png\n',
    );
  });

  test('links URL --same-origin --json fetches the page and keeps its own links', async () => {
    const result = await run(['links', `${base}/page`, '--same-origin', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const links = JSON.parse(result.stdout) as Array<{ url: string; tag: string; text: string }>;
    assert.deepEqual(
      links.map((l) => [l.url, l.tag, l.text]),
      [
        [`${base}/one`, 'a', 'one'],
        [`${base}/two?x=1`, 'a', 'two'],
      ],
    );
  });

  test('links of a URL that answers 404 exits 1', async () => {
    const result = await run(['links', `${base}/status/404`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /HTTP 404/);
  });
});
