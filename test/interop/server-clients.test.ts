/**
 * Interop: wirekit/server (`app.listen` on 127.0.0.1:0) against clients no one here wrote:
 * curl (HTTP/1.1, HTTP/2 over TLS with the HTTP/1.1 fallback, forms, multipart, HEAD,
 * `--path-as-is`), python3-requests and the python3-aiohttp client.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { App, type AppServer, type ListenOptions } from '../../src/server/index.js';
import { fixture, needPeer, tlsFixture } from '../helpers.js';

const T = { timeout: 30_000 };
const SECRET = 'TOP-SECRET-interop-must-not-leak';
const UPLOAD = randomBytes(200_000);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let base = '';
let root = '';
let uploadPath = '';

before(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'wirekit-server-clients-')));
  root = join(base, 'public');
  await mkdir(root);
  await writeFile(join(base, 'secret.txt'), SECRET);
  await writeFile(join(root, 'hello.txt'), 'static hello\n');
  uploadPath = join(base, 'upload.bin');
  await writeFile(uploadPath, UPLOAD);
});

after(() => rm(base, { recursive: true, force: true }));

/** The app every client talks to. */
function interopApp(): App {
  const app = new App({ cookieSecret: 'interop secret' });
  app.get('/hello', () => 'Hello World!');
  app.get('/json', () => ({ hello: 'world', n: 42, list: [1, 2] }));
  app.get('/version', (ctx) => ({ version: ctx.req.httpVersion }));
  app.post('/form', (ctx) => ctx.form());
  app.post('/json', async (ctx) => ({ got: await ctx.json(), version: ctx.req.httpVersion }));
  app.post('/bytes', { bodyLimit: 4 * 1024 * 1024 }, async (ctx) => ({ length: (await ctx.bytes()).length }));
  app.post('/upload', async (ctx) => {
    const fields: Record<string, string> = {};
    const files: Array<Record<string, string | number>> = [];
    for await (const part of ctx.multipart()) {
      if (part.kind === 'field') fields[part.name] = part.value;
      else {
        const chunks: Buffer[] = [];
        for await (const chunk of part.stream) chunks.push(chunk as Buffer);
        const data = Buffer.concat(chunks);
        const { name, filename, mimeType } = part;
        files.push({ name, filename, mimeType, size: data.length, sha256: sha256(data) });
      }
    }
    return { fields, files };
  });
  app.post('/login', async (ctx) => {
    const { user } = await ctx.form();
    ctx.cookies.set('user', String(user), { signed: true, maxAge: 60 });
    ctx.cookies.set('theme', 'dark');
    return { welcome: user };
  });
  app.get('/me', (ctx) => ({
    user: ctx.cookies.get('user', { signed: true }) ?? null,
    theme: ctx.cookies.get('theme') ?? null,
  }));
  app.static('/static', root);
  return app;
}

async function serve(t: TestContext, options: ListenOptions = {}): Promise<AppServer> {
  const server = await interopApp().listen({ port: 0, ...options });
  t.after(() => server.close({ timeout: 1_000 }));
  return server;
}

/** Runs a program asynchronously (the server lives in this process): stdout, or a rejection. */
function run(command: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { encoding: 'buffer', timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${command} failed: ${err.message}\n${stderr.toString()}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input);
  });
}

interface CurlReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** curl's `%{http_version}`: `1.1` or `2`. */
  version: string;
}

const VERSION_MARK = '\n--wirekit-http-version:';

/** curl with the head on stdout before the body (with `-I`, the head alone) and the version last. */
function curl(args: string[]): Promise<CurlReply> {
  const head = args.includes('-I') ? [] : ['--dump-header', '-'];
  const flags = ['--silent', '--show-error', '--max-time', '10', ...head, '--output', '-'];
  return run('curl', [...flags, '--write-out', `${VERSION_MARK}%{http_version}`, ...args]).then((stdout) => {
    const mark = stdout.lastIndexOf(VERSION_MARK);
    const version = stdout.subarray(mark + VERSION_MARK.length).toString();
    const rest = stdout.subarray(0, mark);
    const end = rest.indexOf('\r\n\r\n');
    const [statusLine = '', ...fields] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const field of fields) {
      const colon = field.indexOf(':');
      headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
    }
    return { status: Number(statusLine.split(' ')[1]), headers, body: rest.subarray(end + 4), version };
  });
}

const json = (reply: CurlReply): unknown => JSON.parse(reply.body.toString());

describe('curl', () => {
  test('GET answers 200 with Content-Length; -I gets the same head and no body', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const server = await serve(t);
    const get = await curl([`${server.url}hello`]);
    assert.equal(get.status, 200);
    assert.equal(get.version, '1.1');
    assert.equal(get.headers['content-length'], '12');
    assert.equal(get.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(get.body.toString(), 'Hello World!');
    const head = await curl(['-I', `${server.url}hello`]);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '12');
    assert.equal(head.body.length, 0);
    assert.deepEqual(json(await curl([`${server.url}json`])), { hello: 'world', n: 42, list: [1, 2] });
  });

  test('-d posts a form; -F posts multipart with a file', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const server = await serve(t);
    const form = await curl(['-d', 'name=ann+lee&tag=a&tag=b&empty=', `${server.url}form`]);
    assert.equal(form.status, 200);
    assert.deepEqual(json(form), { name: 'ann lee', tag: ['a', 'b'], empty: '' });
    const upload = await curl([
      '-F',
      'title=hi there',
      '-F',
      `file=@${uploadPath};type=application/octet-stream`,
      '-F',
      `doc=@${uploadPath};filename=../../etc/evil.txt;type=text/plain`,
      `${server.url}upload`,
    ]);
    assert.equal(upload.status, 200, upload.body.toString());
    assert.deepEqual(json(upload), {
      fields: { title: 'hi there' },
      files: [
        {
          name: 'file',
          filename: 'upload.bin',
          mimeType: 'application/octet-stream',
          size: UPLOAD.length,
          sha256: sha256(UPLOAD),
        },
        // The directories of a client's file name are dropped.
        {
          name: 'doc',
          filename: 'evil.txt',
          mimeType: 'text/plain',
          size: UPLOAD.length,
          sha256: sha256(UPLOAD),
        },
      ],
    });
  });

  test(
    'a body over the route limit is refused before curl uploads it (Expect: 100-continue)',
    T,
    async (t) => {
      if (!needPeer(t, 'curl')) return;
      const server = await serve(t);
      const big = join(base, 'big.bin');
      await writeFile(big, Buffer.alloc(3 * 1024 * 1024, 'a'));
      // curl asks with Expect: 100-continue for a body this size, and waits for the answer.
      const post = (path: string) =>
        run('curl', [
          ...['--silent', '--show-error', '--max-time', '10', '--output', '/dev/null'],
          ...['--write-out', '%{http_code} %{size_upload}', '--data-binary', `@${big}`],
          ...['--header', 'Content-Type: application/json'],
          `${server.url}${path}`,
        ]).then((out) => out.toString().split(' ').map(Number));
      // 3 MiB against the app's 1 MiB default: the 413 comes instead of the 100, nothing is sent.
      assert.deepEqual(await post('json'), [413, 0]);
      // Against a route that takes 4 MiB: the 100 comes, and the whole body goes.
      assert.deepEqual(await post('bytes'), [200, 3 * 1024 * 1024]);
    },
  );

  test('--http2 over TLS speaks HTTP/2; --http1.1 to the same port falls back', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const server = await serve(t, { tls: tlsFixture, http2: true });
    const tls = ['--cacert', fixture('cert.pem')];
    const h2 = await curl([...tls, '--http2', `${server.url}version`]);
    assert.equal(h2.status, 200);
    assert.equal(h2.version, '2');
    assert.deepEqual(json(h2), { version: '2.0' });
    const h2post = await curl([
      ...tls,
      '--http2',
      '-H',
      'content-type: application/json',
      '-d',
      '{"a":[1,2]}',
      `${server.url}json`,
    ]);
    assert.deepEqual(json(h2post), { got: { a: [1, 2] }, version: '2.0' });
    const h1 = await curl([...tls, '--http1.1', `${server.url}version`]);
    assert.equal(h1.status, 200);
    assert.equal(h1.version, '1.1');
    assert.deepEqual(json(h1), { version: '1.1' });
    const hello = await curl([...tls, '--http1.1', `${server.url}hello`]);
    assert.equal(hello.body.toString(), 'Hello World!');
    // And -k, for a client that does not have the CA.
    assert.equal((await curl(['-k', '--http2', `${server.url}hello`])).version, '2');
  });

  test('--path-as-is traversal to the static mount is a 404 and never the secret', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const server = await serve(t);
    assert.equal((await curl([`${server.url}static/hello.txt`])).body.toString(), 'static hello\n');
    const origin = server.url.slice(0, -1);
    for (const path of [
      '/static/../secret.txt',
      '/static/../../secret.txt',
      '/static/%2e%2e/secret.txt',
      '/static/..%2fsecret.txt',
      '/static/..%5csecret.txt',
    ]) {
      const res = await curl(['--path-as-is', `${origin}${path}`]);
      assert.equal(res.status, 404, path);
      assert.ok(!res.body.toString().includes(SECRET), `${path} leaked the secret`);
    }
  });
});

/**
 * The python3 that can import `module`, or undefined (after skipping `t`, or failing it under
 * CI=true). Debian's python3-aiohttp and python3-requests install for /usr/bin/python3, and a
 * `python3` earlier on PATH (pyenv...) may not have them.
 */
function pythonWith(t: TestContext, module: string): string | undefined {
  const candidates = ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 20_000 });
    if (probe.status === 0) return python;
  }
  const message =
    `no python3 here can import ${module} (tried ${candidates.join(', ')}): ` +
    `apt-get install python3-${module}, or run .ci/run`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return undefined;
}

/** Runs a python script with the server's URL as argv[1]; its stdout is JSON. */
async function python(interpreter: string, script: string, url: string): Promise<unknown> {
  const stdout = await run(interpreter, ['-c', script, url]);
  return JSON.parse(stdout.toString());
}

describe('python3-requests', () => {
  test('GET JSON, POST a form, and a session sends back the cookies the server set', T, async (t) => {
    const interpreter = pythonWith(t, 'requests');
    if (interpreter === undefined) return;
    t.diagnostic(`requests from ${interpreter}`);
    const server = await serve(t);
    const result = await python(
      interpreter,
      `
import json, sys, requests
base = sys.argv[1]
out = {}
with requests.Session() as s:
    r = s.get(base + 'json', timeout=10)
    out['json'] = [r.status_code, r.headers['content-type'], r.json()]
    r = s.post(base + 'form', data={'name': 'ann lee', 'tag': ['a', 'b']}, timeout=10)
    out['form'] = [r.status_code, r.json()]
    out['anonymous'] = s.get(base + 'me', timeout=10).json()
    r = s.post(base + 'login', data={'user': 'ann'}, timeout=10)
    out['login'] = [r.status_code, r.json(), sorted(c.name for c in s.cookies)]
    out['me'] = s.get(base + 'me', timeout=10).json()
print(json.dumps(out))
`,
      server.url,
    );
    assert.deepEqual(result, {
      json: [200, 'application/json; charset=utf-8', { hello: 'world', n: 42, list: [1, 2] }],
      form: [200, { name: 'ann lee', tag: ['a', 'b'] }],
      anonymous: { user: null, theme: null },
      login: [200, { welcome: 'ann' }, ['theme', 'user']],
      me: { user: 'ann', theme: 'dark' },
    });
  });
});

describe('python3-aiohttp client', () => {
  test('GET JSON, POST JSON, and the cookie jar sends back the cookies the server set', T, async (t) => {
    const interpreter = pythonWith(t, 'aiohttp');
    if (interpreter === undefined) return;
    t.diagnostic(`aiohttp from ${interpreter}`);
    const server = await serve(t);
    const result = await python(
      interpreter,
      `
import asyncio, json, sys, aiohttp
base = sys.argv[1]
async def main():
    out = {}
    timeout = aiohttp.ClientTimeout(total=10)
    # unsafe=True: aiohttp's jar ignores cookies from IP-address hosts unless told otherwise.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=jar) as s:
        async with s.get(base + 'json') as r:
            out['json'] = [r.status, r.headers['Content-Type'], await r.json()]
        async with s.post(base + 'json', json={'a': [1, 2], 'b': None}) as r:
            out['post'] = [r.status, await r.json()]
        async with s.post(base + 'form', data={'name': 'ann lee'}) as r:
            out['form'] = await r.json()
        async with s.post(base + 'login', data={'user': 'ann'}) as r:
            out['login'] = [r.status, await r.json()]
        async with s.get(base + 'me') as r:
            out['me'] = await r.json()
        async with s.get(base + 'static/hello.txt') as r:
            out['static'] = [r.status, await r.text()]
    return out
print(json.dumps(asyncio.run(main())))
`,
      server.url,
    );
    assert.deepEqual(result, {
      json: [200, 'application/json; charset=utf-8', { hello: 'world', n: 42, list: [1, 2] }],
      post: [200, { got: { a: [1, 2], b: null }, version: '1.1' }],
      form: { name: 'ann lee' },
      login: [200, { welcome: 'ann' }],
      me: { user: 'ann', theme: 'dark' },
      static: [200, 'static hello\n'],
    });
  });
});
