/**
 * Interop: wirekit/server behind a real nginx, configured with the nginx config of the
 * deployment guide in docs/server.md (read from the page, its ports swapped for free loopback
 * ones): ctx.ip from the X-Forwarded-For nginx sets, upstream keep-alive, nginx's 413 and
 * wirekit's, an upload passed through intact, and a graceful close under requests in flight.
 * nginx runs in the foreground as one process, with every path it writes in a temp directory.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type IncomingHttpHeaders, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { App, type AppServer } from '../../src/server/index.js';
import { hasCommand, needPeer, root, sleep } from '../helpers.js';
import { freePort } from '../net/tcp-helpers.js';

const T = { timeout: 30_000 };
const MiB = 1024 * 1024;
// Not on the PATH of a non-root shell on Debian.
const NGINX = hasCommand('nginx', ['-v']) ? 'nginx' : '/usr/sbin/nginx';
const nginxHere = hasCommand(NGINX, ['-v']);
/** Host of the test-only server block, next to the guide's on the same port. */
const EXTRAS = 'extras.test';
const READY = randomBytes(8).toString('hex');

let dir = '';
let app: AppServer | undefined;
let closing: AppServer | undefined;
let nginx: ChildProcess | undefined;
let port = 0;
/** TCP connections the app accepted, requests its /echo handler saw, /slow requests begun. */
let connections = 0;
let echoes = 0;
let slowStarted = 0;

interface Seen {
  ip: string;
  peer: string;
  peerPort: number;
  forwardedFor: string;
  forwardedProto: string;
  host: string;
}

/** The app behind the guide's config: its routes and limits match the guide's locations. */
function guideApp(): App {
  const app = new App({ trustProxy: true });
  app.get('/whoami', (ctx): Seen => ({
    ip: ctx.ip,
    peer: ctx.req.socket.remoteAddress ?? '',
    peerPort: ctx.req.socket.remotePort ?? 0,
    forwardedFor: String(ctx.headers['x-forwarded-for']),
    forwardedProto: String(ctx.headers['x-forwarded-proto']),
    host: String(ctx.headers.host),
  }));
  app.post('/echo', async (ctx) => {
    echoes++;
    return { size: (await ctx.bytes()).length };
  });
  app.post('/small', { bodyLimit: 8 * 1024 }, async (ctx) => ({ size: (await ctx.bytes()).length }));
  app.post('/upload', { bodyLimit: 20 * MiB }, async (ctx) => {
    const fields: Record<string, string> = {};
    const files: Array<{ name: string; size: number; sha256: string }> = [];
    for await (const part of ctx.multipart({ maxFileSize: 5 * MiB })) {
      if (part.kind === 'field') fields[part.name] = part.value;
      else {
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of part.stream) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        files.push({ name: part.filename, size, sha256: hash.digest('hex') });
      }
    }
    return { fields, files };
  });
  return app;
}

/** The app the graceful-close test closes: answers /slow after 500 ms. */
function slowApp(): App {
  return new App().get('/slow', async () => {
    slowStarted++;
    await sleep(500);
    return 'done\n';
  });
}

/** The nginx config of the deployment guide, listening on `listen` and proxying to `appPort`. */
async function guideConfig(listen: number, appPort: number): Promise<string> {
  const page = await readFile(join(root, 'docs/server.md'), 'utf8');
  const section = page.indexOf('## Guide: deploying with workers behind nginx');
  const start = section === -1 ? -1 : page.indexOf('```nginx\n', section);
  const end = start === -1 ? -1 : page.indexOf('\n```', start);
  if (end === -1) throw new Error('docs/server.md: the deployment guide has no ```nginx block');
  let config = page.slice(start + '```nginx\n'.length, end);
  const swaps: Array<[string, string]> = [
    ['listen 80;', `listen 127.0.0.1:${listen};`],
    ['server 127.0.0.1:3000;', `server 127.0.0.1:${appPort};`],
  ];
  for (const [from, to] of swaps) {
    if (!config.includes(from)) throw new Error(`docs/server.md: the guide's nginx config has no "${from}"`);
    config = config.replace(from, to);
  }
  return config;
}

/** Test-only locations, under their own server_name on the same port. */
function extrasConfig(listen: number, closingPort: number): string {
  return `
upstream closing {
    server 127.0.0.1:${closingPort};
    keepalive 16;
}

server {
    listen 127.0.0.1:${listen};
    server_name ${EXTRAS};

    location = /ready {
        return 200 "${READY}";
    }

    # What the guide warns against: the client's own X-Forwarded-For comes first.
    location /naive/ {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_pass http://wirekit/;
    }

    # Limits higher than the app's, which the guide advises against.
    location /loose/ {
        client_max_body_size 64m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://wirekit/;
    }

    # Without proxy_http_version 1.1, nginx speaks HTTP/1.0 to the app: no keep-alive.
    location /http10/ {
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_pass http://wirekit/;
    }

    location /closing/ {
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_pass http://closing/;
    }
}
`;
}

/** One nginx process in the foreground; nothing written outside `dir`. */
function nginxConfig(servers: string): string {
  return `master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {
    worker_connections 256;
}
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/client_body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${servers}
}
`;
}

/** Stops nginx: SIGTERM, then SIGKILL if it is still there after 3 s. */
async function stopNginx(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Starts nginx on a free port, trying another port when the one picked was taken meanwhile. */
async function startNginx(appPort: number, closingPort: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const listen = await freePort();
    const servers = `${await guideConfig(listen, appPort)}\n${extrasConfig(listen, closingPort)}`;
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, nginxConfig(servers));
    await writeFile(join(dir, 'error.log'), '');
    const child = spawn(NGINX, ['-g', 'daemon off;', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (err) => (stderr += err.message));
    nginx = child;
    port = listen;
    if (await answers(child)) return;
    await stopNginx(child);
    nginx = undefined;
    const log = `${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`;
    if (!log.includes('Address already in use') || attempt === 5) {
      throw new Error(`nginx did not start on 127.0.0.1:${listen}:\n${log}`);
    }
  }
}

/** Whether this nginx answers /ready within 5 s (false once it has exited). */
async function answers(child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const reply = await ask('/ready', { headers: { host: EXTRAS }, timeout: 1_000 }).catch(() => undefined);
    if (reply?.body.toString() === READY) return true;
    await sleep(50);
  }
  return false;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface AskOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer;
  /** Send only the head, with this Content-Length, and wait for the answer. */
  declaredLength?: number;
  localAddress?: string;
  timeout?: number;
}

/** One request to nginx on a connection of its own. */
function ask(path: string, options: AskOptions = {}): Promise<Reply> {
  const { body, declaredLength, timeout = 10_000 } = options;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? (body === undefined && declaredLength === undefined ? 'GET' : 'POST'),
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
        timeout,
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
          req.destroy();
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in ${timeout} ms`)));
    // nginx may answer (413) before it has read the whole body: the answer is what counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (declaredLength === undefined) req.end(body);
    else {
      req.setHeader('content-length', declaredLength);
      req.flushHeaders();
    }
  });
}

/** A multipart/form-data body with text fields and one file. */
function multipart(
  fields: Record<string, string>,
  file: { name: string; filename: string; data: Buffer },
): { body: Buffer; type: string } {
  const boundary = `wirekit-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = Object.entries(fields).map(([name, value]) =>
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
  );
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="${file.name}"; filename="${file.filename}"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    ),
    file.data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await sleep(20);
  }
}

const seen = (reply: Reply): Seen => JSON.parse(reply.body.toString()) as Seen;

/** Skips (or under CI=true fails) without nginx. */
const need = (t: TestContext): boolean => needPeer(t, NGINX, ['-v']);

before(async () => {
  if (!nginxHere) return;
  dir = await mkdtemp(join(tmpdir(), 'wirekit-nginx-'));
  app = await guideApp().listen({ port: 0, host: '127.0.0.1' });
  (app.server as Server).on('connection', () => connections++);
  closing = await slowApp().listen({ port: 0, host: '127.0.0.1' });
  await startNginx(app.port, closing.port);
});

after(async () => {
  try {
    if (nginx !== undefined) await stopNginx(nginx);
  } finally {
    await Promise.all([app?.close({ timeout: 1_000 }), closing?.close({ timeout: 1_000 })]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  }
});

// A test process that dies without `after` must not leave nginx behind.
process.once('exit', () => nginx?.kill('SIGKILL'));

describe('wirekit behind nginx, configured as the deployment guide says', () => {
  test(
    "ctx.ip is the client's address as nginx saw it; a forged X-Forwarded-For is replaced",
    T,
    async (t) => {
      if (!need(t)) return;
      const reply = await ask('/whoami', {
        localAddress: '127.0.0.2',
        headers: { 'x-forwarded-for': '203.0.113.66', host: 'Example.com' },
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(
        { ...seen(reply), peerPort: 0 },
        {
          ip: '127.0.0.2',
          // The socket the app sees is nginx's.
          peer: '127.0.0.1',
          peerPort: 0,
          forwardedFor: '127.0.0.2',
          forwardedProto: 'http',
          host: 'example.com',
        },
      );
    },
  );

  test(
    "with $proxy_add_x_forwarded_for (what the guide warns against) the client's forgery wins",
    T,
    async (t) => {
      if (!need(t)) return;
      const reply = await ask('/naive/whoami', {
        localAddress: '127.0.0.2',
        headers: { 'x-forwarded-for': '203.0.113.66', host: EXTRAS },
      });
      const { ip, forwardedFor } = seen(reply);
      assert.equal(forwardedFor, '203.0.113.66, 127.0.0.2');
      assert.equal(ip, '203.0.113.66');
    },
  );

  test(
    'nginx keeps its connections to the app: 20 requests arrive over at most 2 TCP connections',
    T,
    async (t) => {
      if (!need(t)) return;
      const before = connections;
      const ports = new Set<number>();
      for (let i = 0; i < 20; i++) ports.add(seen(await ask('/whoami')).peerPort);
      assert.ok(connections - before <= 2, `the app accepted ${connections - before} connections`);
      assert.ok(ports.size <= 2, `requests came from ${ports.size} nginx ports`);
      // The control: without proxy_http_version 1.1, the app closes each connection after one
      // request (the first may still take one that the pool kept).
      const plain = connections;
      for (let i = 0; i < 5; i++)
        assert.equal((await ask('/http10/whoami', { headers: { host: EXTRAS } })).status, 200);
      assert.ok(connections - plain >= 4, `5 HTTP/1.0 requests took ${connections - plain} connections`);
    },
  );

  test('a body over client_max_body_size is refused by nginx before the app sees any of it', T, async (t) => {
    if (!need(t)) return;
    const before = echoes;
    const big = await ask('/echo', { body: randomBytes(2 * MiB) });
    assert.equal(big.status, 413);
    assert.equal(big.headers['content-type'], 'text/html');
    assert.match(big.body.toString(), /413 Request Entity Too Large/);
    assert.equal(echoes, before, 'the app saw the request');
    // Under the limit, the body gets through.
    const fits = await ask('/echo', { body: randomBytes(MiB - 1024) });
    assert.deepEqual(JSON.parse(fits.body.toString()), { size: MiB - 1024 });
    // The upload location has its own, larger limit; past it nginx answers from the head alone.
    const type = 'multipart/form-data; boundary=x';
    const upload = await ask('/upload', { declaredLength: 21 * MiB, headers: { 'content-type': type } });
    assert.equal(upload.status, 413);
    assert.match(upload.body.toString(), /413 Request Entity Too Large/);
  });

  test("a body under nginx's limit but over the route's bodyLimit gets wirekit's 413", T, async (t) => {
    if (!need(t)) return;
    const reply = await ask('/small', { body: randomBytes(12 * 1024) });
    assert.equal(reply.status, 413);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.body.toString(), 'Content-Length 12288 is larger than the 8192-byte limit\n');
    // The app closed that connection; the next request still goes through.
    assert.equal((await ask('/whoami')).status, 200);
  });

  test('a 3 MiB multipart upload passes through nginx byte for byte', T, async (t) => {
    if (!need(t)) return;
    const data = randomBytes(3 * MiB);
    const { body, type } = multipart({ note: 'hello' }, { name: 'file', filename: 'photo.bin', data });
    const reply = await ask('/upload', { body, headers: { 'content-type': type } });
    assert.equal(reply.status, 200, reply.body.toString());
    assert.deepEqual(JSON.parse(reply.body.toString()), {
      fields: { note: 'hello' },
      files: [
        { name: 'photo.bin', size: data.length, sha256: createHash('sha256').update(data).digest('hex') },
      ],
    });
  });

  test(
    "a body megabytes over the app's limit but under nginx's gets wirekit's 413, never nginx's 502",
    // wirekit answers 413 while nginx is still sending the body; without a lingering close the
    // reset that closing with unread bytes causes makes nginx fail the send and answer 502.
    T,
    async (t) => {
      if (!need(t)) return;
      const body = randomBytes(8 * MiB);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await ask('/loose/echo', { body, headers: { host: EXTRAS } })).status);
      assert.deepEqual(statuses, [413, 413, 413, 413]);
    },
  );

  test('close() under five requests in flight through nginx: all five get their 200', T, async (t) => {
    if (!need(t)) return;
    const server = closing as AppServer;
    slowStarted = 0;
    const replies = Array.from({ length: 5 }, () => ask('/closing/slow', { headers: { host: EXTRAS } }));
    await until(() => slowStarted === 5, 5_000, 'five requests in the app');
    const started = Date.now();
    await server.close({ timeout: 5_000 });
    const took = Date.now() - started;
    for (const reply of await Promise.all(replies)) {
      assert.equal(reply.status, 200);
      assert.equal(reply.body.toString(), 'done\n');
    }
    // Closed once the answers were out, not cut at the deadline.
    assert.ok(took < 4_000, `close() took ${took} ms`);
    // Nothing listens now: nginx cannot connect.
    assert.equal((await ask('/closing/slow', { headers: { host: EXTRAS } })).status, 502);
  });
});
