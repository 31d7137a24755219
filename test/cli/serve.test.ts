import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { root } from '../helpers.js';
import { run, start } from './cli-helpers.js';

const stops: Array<() => Promise<unknown>> = [];
const site = mkdtempSync(join(tmpdir(), 'wirekit-serve-'));
writeFileSync(join(site, 'index.html'), '<h1>home</h1>');
writeFileSync(join(site, 'data.json'), '{"a":1}');
after(async () => {
  await Promise.all(stops.map((stop) => stop()));
  rmSync(site, { recursive: true, force: true });
});

const URL_LINE = /on (http:\/\/127\.0\.0\.1:\d+\/)\n/;

test('serve DIR serves index.html and files, and logs each request', async () => {
  const server = await start(['serve', site, '--port', '0'], URL_LINE);
  stops.push(server.stop);
  const base = server.match[1]!;
  const home = await fetch(base);
  assert.equal(home.status, 200);
  assert.equal(await home.text(), '<h1>home</h1>');
  assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
  const data = await fetch(`${base}data.json`);
  assert.deepEqual(await data.json(), { a: 1 });
  assert.equal((await fetch(`${base}missing.txt`)).status, 404);
  let log = '';
  server.child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  await fetch(`${base}data.json`);
  for (let i = 0; i < 50 && !log.includes('GET /data.json 200'); i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.match(log, /^127\.0\.0\.1 GET \/data\.json 200 \d{3} [\d.]+ms$/m);
  assert.equal(await server.stop(), 0);
});

test('serve MODULE serves the App it exports: the hello example on the port asked for', async () => {
  const server = await start(['serve', join(root, 'examples/hello.ts'), '--port', '0', '--quiet'], URL_LINE);
  stops.push(server.stop);
  const res = await fetch(server.match[1]!);
  assert.equal(await res.text(), 'Hello World!');
});

test('serve MODULE outside a "type": "module" package: a .ts file Node takes for CommonJS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirekit-serve-cjs-'));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const server = join(root, 'dist/server/index.js');
  writeFileSync(
    join(dir, 'app.ts'),
    `import { App } from ${JSON.stringify(server)};\nconst app = new App();\napp.get('/', () => 'plain ts');\nexport default app;\n`,
  );
  const served = await start(['serve', join(dir, 'app.ts'), '--port', '0'], URL_LINE);
  stops.push(served.stop);
  const res = await fetch(served.match[1]!);
  assert.equal(await res.text(), 'plain ts');
});

test('serve of something that is neither a directory nor a module exits 2', async () => {
  const { code, stderr } = await run(['serve', join(site, 'nope')]);
  assert.equal(code, 2);
  assert.match(stderr, /is not a directory/);
});

test('serve --http2 without TLS exits 2', async () => {
  const { code, stderr } = await run(['serve', site, '--http2']);
  assert.equal(code, 2);
  assert.match(stderr, /--http2 needs --tls-cert/);
});
