/**
 * Interop with curl against createStatic (mounted at `/` on a node:http server on
 * 127.0.0.1:0): `--path-as-is` traversal attempts, `-r` ranges, conditional requests,
 * `--compressed` with the precompressed siblings, `-I` for HEAD and `-L` through the
 * directory redirect.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { HttpError } from '../../src/server/errors.js';
import { createStatic } from '../../src/server/static.js';
import { needPeer } from '../helpers.js';

const T = { timeout: 30_000 };

const SECRET = 'TOP-SECRET-curl-must-not-see-this';
const APP_JS = 'console.log("precompressed");\n'.repeat(64);
const BIG = randomBytes(100_000);
let base = '';
let root = '';

before(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'wirekit-curl-static-')));
  root = join(base, 'public');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(base, 'secret.txt'), SECRET);
  await writeFile(join(root, 'index.html'), '<h1>home</h1>\n');
  await writeFile(join(root, 'sub', 'index.html'), '<h1>sub</h1>\n');
  await writeFile(join(root, 'big.bin'), BIG);
  await writeFile(join(root, 'app.js'), APP_JS);
  await writeFile(join(root, 'app.js.gz'), gzipSync(APP_JS));
  await writeFile(join(root, 'app.js.br'), brotliCompressSync(APP_JS));
  await writeFile(join(root, '.env'), SECRET);
  await symlink(join(base, 'secret.txt'), join(root, 'link-out'));
});

after(() => rm(base, { recursive: true, force: true }));

function answer(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) })
    .end(text);
}

/** createStatic at `/`; not found is 404, an HttpError its status. Returns the origin. */
async function serve(t: TestContext): Promise<string> {
  const handle = createStatic(root);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    handle(req, res, q === -1 ? url : url.slice(0, q)).then(
      (answered) => {
        if (!answered) answer(res, 404, 'not found\n');
      },
      (err: unknown) => {
        if (res.headersSent) return void res.destroy();
        answer(res, err instanceof HttpError ? err.status : 500, `${(err as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface CurlReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Runs curl (asynchronously: the server lives in this process) with the response head written
 * before the body on stdout; with `-L` the last head counts.
 */
function curl(args: string[]): Promise<CurlReply> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      // -I prints the head itself; with --dump-header too, each line would come twice.
      [
        '--silent',
        '--show-error',
        '--max-time',
        '10',
        ...(args.includes('-I') ? [] : ['--dump-header', '-']),
        '--output',
        '-',
        ...args,
      ],
      { encoding: 'buffer', timeout: 15_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`curl ${args.join(' ')}: ${err.message} ${stderr.toString()}`));
        let rest = stdout;
        let head = '';
        // Each head (a redirect's, then the final one) ends with an empty line.
        while (rest.subarray(0, 5).toString('latin1') === 'HTTP/') {
          const end = rest.indexOf('\r\n\r\n');
          head = rest.subarray(0, end).toString('latin1');
          rest = rest.subarray(end + 4);
        }
        const [statusLine = '', ...fields] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const field of fields) {
          const colon = field.indexOf(':');
          headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
        }
        resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest });
      },
    );
  });
}

describe('curl against createStatic', () => {
  test('--path-as-is traversal attempts answer 400/403/404 and never the secret', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const origin = await serve(t);
    const attempts = [
      '/../secret.txt',
      '/sub/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2e/secret.txt',
      '/.%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%2Fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%5c..%5csecret.txt',
      '/..\\secret.txt',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/link-out',
      '/.env',
      '/%00',
      '/index.html%00.txt',
      '/%',
      '/%c0%ae%c0%ae/secret.txt',
    ];
    for (const path of attempts) {
      const res = await curl(['--path-as-is', `${origin}${path}`]);
      assert.ok([400, 403, 404].includes(res.status), `${path}: ${res.status}`);
      assert.ok(!res.body.toString('latin1').includes(SECRET), `${path} leaked the secret`);
      // The handler's own answers: curl sent the path as is and node's parser let it through.
      assert.ok(['not found\n', 'malformed path\n'].includes(res.body.toString()), `${path}: ${res.body}`);
    }
  });

  test('-r asks for ranges: one gets 206 with the bytes, several get multipart/byteranges', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const origin = await serve(t);
    const first = await curl(['-r', '0-99', `${origin}/big.bin`]);
    assert.equal(first.status, 206);
    assert.equal(first.headers['content-range'], `bytes 0-99/${BIG.length}`);
    assert.ok(first.body.equals(BIG.subarray(0, 100)));
    const tail = await curl(['-r', '-1000', `${origin}/big.bin`]);
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(BIG.subarray(BIG.length - 1000)));
    const open = await curl(['-r', '99000-', `${origin}/big.bin`]);
    assert.ok(open.body.equals(BIG.subarray(99_000)));
    const two = await curl(['-r', '0-9,500-509', `${origin}/big.bin`]);
    assert.equal(two.status, 206);
    assert.match(two.headers['content-type'] ?? '', /^multipart\/byteranges; boundary=/);
    assert.equal(Number(two.headers['content-length']), two.body.length);
    const past = await curl(['-r', `${BIG.length}-`, `${origin}/big.bin`]);
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${BIG.length}`);
  });

  test('If-None-Match with the ETag, or -z with the date, is 304 with no body', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const origin = await serve(t);
    const first = await curl([`${origin}/big.bin`]);
    const etag = first.headers.etag ?? '';
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await curl(['-H', `If-None-Match: ${etag}`, `${origin}/big.bin`]);
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    const since = await curl(['-z', first.headers['last-modified'] ?? '', `${origin}/big.bin`]);
    assert.equal(since.status, 304);
  });

  test(
    '--compressed gets the .br (or, asked for, the .gz) sibling and decodes it to the original',
    T,
    async (t) => {
      if (!needPeer(t, 'curl')) return;
      const origin = await serve(t);
      const br = await curl(['--compressed', `${origin}/app.js`]);
      assert.equal(br.status, 200);
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(br.headers.vary, 'Accept-Encoding');
      assert.equal(br.body.toString(), APP_JS);
      const gz = await curl(['--compressed', '-H', 'Accept-Encoding: gzip', `${origin}/app.js`]);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gz.body.toString(), APP_JS);
      const plain = await curl([`${origin}/app.js`]);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.body.toString(), APP_JS);
    },
  );

  test('-I sends HEAD: the headers of the GET and no body', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const origin = await serve(t);
    const head = await curl(['-I', `${origin}/big.bin`]);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(BIG.length));
    assert.equal(head.headers['accept-ranges'], 'bytes');
    assert.equal(head.body.length, 0);
  });

  test('-L follows the directory redirect to the index, staying on the same origin', T, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const origin = await serve(t);
    const redirect = await curl([`${origin}/sub`]);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, './sub/');
    const followed = await curl(['-L', `${origin}/sub`]);
    assert.equal(followed.status, 200);
    assert.equal(followed.body.toString(), '<h1>sub</h1>\n');
  });
});
