/**
 * Every example runs as the README says (`npx tsx examples/NAME.ts`: node with tsx's loader,
 * started here without the tsx wrapper process so a killed example leaves no orphan behind).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '../src/net/index.js';
import { startTinyproxy } from './client/proxy-peers.js';
import { needPeer, root } from './helpers.js';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface Run {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function example(name: string, args: string[] = [], input?: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', name), ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  if (input === undefined) child.stdin!.end();
  else child.stdin!.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = once(child, 'close').then(([code]) => {
    clearTimeout(timer);
    return code as number | null;
  });
  const waitFor = async (pattern: RegExp) => {
    for (;;) {
      const match = pattern.exec(output);
      if (match) return match;
      if (child.exitCode !== null) throw new Error(`${name} exited without ${pattern}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, output: () => output, waitFor, exited };
}

test('echo-server.ts echoes what a client sends and stops on SIGINT', async () => {
  const server = example('echo-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const conn = await connect('127.0.0.1', Number(port));
  await conn.write('hello echo\n');
  assert.equal(await conn.readLine(), 'hello echo');
  await conn.end();
  assert.equal((await conn.read()).length, 0);
  conn.close();
  await server.waitFor(/Closed by 127\.0\.0\.1/);
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});

test('welcome-client.ts prints the welcome of welcome-server.ts', async () => {
  const server = example('welcome-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const client = example('welcome-client.ts', ['127.0.0.1', port!]);
  assert.equal(await client.exited, 0);
  assert.equal(client.output(), 'Welcome to my server!\n');
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});

test('telnet-client.ts connects from the source address, sends typed lines and prints replies', async () => {
  const server = example('welcome-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const client = example('telnet-client.ts', ['127.0.0.1', port!, '127.0.0.1'], 'hello\nworld\n');
  assert.equal(await client.exited, 0);
  const output = client.output();
  assert.match(output, new RegExp(`^connected from 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${port}\\n`));
  assert.match(output, /Welcome to my server!\n/);
  assert.match(output, /hello\n[\s\S]*world\n/);
  server.child.kill('SIGINT');
  await server.exited;
});

test('udp-echo.ts gets its datagram echoed', async () => {
  const run = example('udp-echo.ts', ['ping over udp']);
  assert.equal(await run.exited, 0);
  assert.match(
    run.output(),
    /^udp echo server on 127\.0\.0\.1:(\d+)\necho from 127\.0\.0\.1:\1: ping over udp\n$/,
  );
});

test('hello.ts answers GET / with Hello World! like the seed Flask app', async () => {
  const server = example('hello.ts', [], undefined, { PORT: '0' });
  const [, url] = await server.waitFor(/Running on (http:\/\/127\.0\.0\.1:\d+\/)/);
  const res = await fetch(url!);
  assert.equal(await res.text(), 'Hello World!');
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});

async function startExample(name: string, env: NodeJS.ProcessEnv = {}): Promise<{ run: Run; url: string }> {
  const run = example(name, [], undefined, { PORT: '0', ...env });
  const [, url] = await run.waitFor(/Running on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return { run, url: url! };
}

async function stopExample(run: Run): Promise<void> {
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 0);
}

test('form-login.ts logs in with the seed urlencoded POST and sets a signed session cookie', async () => {
  const { run, url } = await startExample('form-login.ts');
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const bad = await fetch(`${url}register.php`, {
    method: 'POST',
    headers: form,
    body: 'username=john&password=nope&submit=Login',
  });
  assert.equal(bad.status, 401);
  const ok = await fetch(`${url}register.php`, {
    method: 'POST',
    headers: form,
    body: 'username=john&password=secret&submit=Login',
  });
  assert.deepEqual(await ok.json(), { welcome: 'john' });
  const cookie = ok.headers.getSetCookie()[0]!.split(';')[0]!;
  assert.deepEqual(await (await fetch(`${url}me`, { headers: { cookie } })).json(), { user: 'john' });
  await stopExample(run);
});

test('json-api.ts creates, reads, updates and deletes items with the right statuses', async () => {
  const { run, url } = await startExample('json-api.ts');
  const json = { 'content-type': 'application/json' };
  const created = await fetch(`${url}items`, { method: 'POST', headers: json, body: '{"title":"milk"}' });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get('location'), '/items/1');
  assert.deepEqual(await created.json(), { id: 1, title: 'milk', done: false });
  const patched = await fetch(`${url}items/1`, { method: 'PATCH', headers: json, body: '{"done":true}' });
  assert.deepEqual(await patched.json(), { id: 1, title: 'milk', done: true });
  assert.equal(
    (await fetch(`${url}items`, { method: 'POST', headers: json, body: '{"title":""}' })).status,
    400,
  );
  assert.equal((await fetch(`${url}items/1`, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(`${url}items/1`)).status, 404);
  await stopExample(run);
});

test('upload.ts stores an uploaded file and reports the fields', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirekit-upload-'));
  try {
    const { run, url } = await startExample('upload.ts', { UPLOAD_DIR: dir });
    const form = new FormData();
    form.set('note', 'hello');
    form.set('file', new Blob(['file body']), 'a.txt');
    const res = await fetch(`${url}upload`, { method: 'POST', body: form });
    const body = (await res.json()) as {
      fields: Record<string, string>;
      files: Array<{ name: string; size: number }>;
    };
    assert.deepEqual(body.fields, { note: 'hello' });
    assert.equal(body.files[0]!.size, 9);
    assert.equal(readFileSync(join(dir, body.files[0]!.name), 'utf8'), 'file body');
    assert.deepEqual(readdirSync(dir), [body.files[0]!.name]);
    await stopExample(run);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sse-clock.ts sends a tick event with the time', async () => {
  const { run, url } = await startExample('sse-clock.ts');
  const controller = new AbortController();
  const res = await fetch(`${url}clock`, { signal: controller.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  assert.match(text, /^event: tick\ndata: \{"time":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}\n\n/);
  await stopExample(run);
});

/** A node:http server on 127.0.0.1 port 0 for the client examples, closed after the test. */
async function httpServer(
  t: { after: (fn: () => void) => void },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Answers with the request's method, URL and headers as JSON. */
function echoHeaders(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
}

test('get.ts sends the seed browser headers and prints status, headers and body', async (t) => {
  const url = await httpServer(t, echoHeaders);
  const run = example('get.ts', [`${url}/path/to/file`]);
  assert.equal(await run.exited, 0, run.output());
  const [head, body] = run.output().split('\n\n');
  assert.match(head!, /^HTTP 200 OK\ncontent-type: application\/json\n/);
  const got = JSON.parse(body!) as { url: string; headers: Record<string, string> };
  assert.equal(got.url, '/path/to/file');
  assert.match(
    got.headers['user-agent']!,
    /^Mozilla\/5\.0 \(Macintosh; .* Chrome\/80\.0\.3987\.163 Safari\/537\.36$/,
  );
  assert.equal(got.headers['accept-language'], 'zh-CN,zh;q=0.9');
  assert.equal(got.headers['upgrade-insecure-requests'], '1');
  assert.equal(got.headers['accept-encoding'], 'gzip, deflate, br');
});

test('post-form.ts logs in to form-login.ts with the seed register POST', async () => {
  const { run: server, url } = await startExample('form-login.ts');
  const ok = example('post-form.ts', [`${url}register.php`], undefined, { PASSWORD: 'secret' });
  assert.equal(await ok.exited, 0, ok.output());
  assert.equal(ok.output(), 'HTTP 200 OK\n{"welcome":"john"}\n');
  const bad = example('post-form.ts', [`${url}register.php`], undefined, { PASSWORD: 'wrong' });
  assert.equal(await bad.exited, 1);
  assert.match(bad.output(), /^HTTP 401 Unauthorized\n/);
  await stopExample(server);
});

test('proxy-get.ts goes through tinyproxy with the credentials of its URL', async (t) => {
  if (!needPeer(t, '/usr/bin/tinyproxy', ['-v'])) return;
  const url = await httpServer(t, echoHeaders);
  const { port } = await startTinyproxy(t, { user: 'user', pass: 'pass' });
  const run = example('proxy-get.ts', [`${url}/`], undefined, {
    PROXY: `http://user:pass@127.0.0.1:${port}`,
  });
  assert.equal(await run.exited, 0, run.output());
  const [status, body] = run.output().split('\n');
  assert.equal(status, `HTTP 200 OK via 127.0.0.1:${port}`);
  const got = JSON.parse(body!) as { headers: Record<string, string> };
  assert.match(got.headers.via!, /tinyproxy/);
  const denied = example('proxy-get.ts', [`${url}/`], undefined, {
    PROXY: `http://user:nope@127.0.0.1:${port}`,
  });
  assert.equal(await denied.exited, 0);
  // tinyproxy answers wrong credentials with 401 (not 407).
  assert.match(denied.output(), /^HTTP 40[17] /);
});

test('links.ts prints every <a href> of the page, resolved', async (t) => {
  const url = await httpServer(t, (_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      '<p><a href="/about">About</a> <img src="x.png"> <a href="news/1.html">1</a> <a href="https://example.org/">ext</a>',
    );
  });
  const run = example('links.ts', [`${url}/index.html`]);
  assert.equal(await run.exited, 0, run.output());
  assert.equal(run.output(), `${url}/about\n${url}/news/1.html\nhttps://example.org/\n`);
});

test('session-cookies.ts logs in once, sends the cookie, and keeps it in a file for the next run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirekit-cookies-'));
  try {
    const { run: server, url } = await startExample('form-login.ts');
    const env = { COOKIE_FILE: join(dir, 'cookies.json') };
    const first = example('session-cookies.ts', [url], undefined, env);
    assert.equal(await first.exited, 0, first.output());
    assert.equal(first.output(), 'login: HTTP 200 {"welcome":"john"}\ncookie: user\nme: {"user":"john"}\n');
    const second = example('session-cookies.ts', [url], undefined, env);
    assert.equal(await second.exited, 0, second.output());
    assert.match(
      second.output(),
      /^login: skipped, .*cookies\.json has the cookie\ncookie: user\nme: \{"user":"john"\}\n$/,
    );
    await stopExample(server);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
