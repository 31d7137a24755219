import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { defaultRequestHeaders, Session, sessionDefaults } from '../../src/client/index.js';
import { readBody, serve, T } from './helpers.js';

/** A server that answers every request with what it received, as JSON. */
async function echo(t: Parameters<typeof serve>[0]) {
  return serve(t, async (req, res) => {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('Session', () => {
  test('defaults are exported and documented values', () => {
    assert.deepEqual(sessionDefaults.timeout, {
      connect: 10_000,
      response: 60_000,
      idle: 60_000,
      total: 300_000,
    });
    assert.equal(sessionDefaults.maxBodySize, 64 * 1024 * 1024);
    assert.equal(sessionDefaults.redirect.max, 10);
    assert.match(defaultRequestHeaders['user-agent']!, /^wirekit\/\d+\.\d+\.\d+/);
    assert.equal(defaultRequestHeaders['accept-encoding'], 'gzip, deflate, br');
  });

  test('a GET through baseUrl sends the default headers and the query', T, async (t) => {
    const { url } = await echo(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const res = await http.get('/items', { query: { page: 2, tag: ['a', 'b c'], skip: undefined } });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    const got = (await res.json()) as Echo;
    assert.equal(got.url, '/items?page=2&tag=a&tag=b+c');
    assert.match(got.headers['user-agent']!, /^wirekit\//);
    assert.equal(got.headers['accept-encoding'], 'gzip, deflate, br');
    assert.equal(res.url, `${url}/items?page=2&tag=a&tag=b+c`);
    assert.deepEqual(res.redirects, []);
    assert.equal(res.fromCache, false);
  });

  test('session headers merge with request headers; undefined removes a default', T, async (t) => {
    const { url } = await echo(t);
    const http = new Session({ baseUrl: url, headers: { 'X-App': 'one', 'User-Agent': 'Mozilla/5.0' } });
    t.after(() => http.close());
    const got = (await (
      await http.get('/', { headers: { 'x-req': '2', accept: undefined } })
    ).json()) as Echo;
    assert.equal(got.headers['x-app'], 'one');
    assert.equal(got.headers['x-req'], '2');
    assert.equal(got.headers['user-agent'], 'Mozilla/5.0');
    assert.equal(got.headers.accept, undefined);
  });

  test('every verb sends its method; request() takes options.method', T, async (t) => {
    const { url } = await echo(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    for (const verb of ['get', 'post', 'put', 'patch', 'delete', 'options'] as const) {
      const got = (await (await http[verb]('/')).json()) as Echo;
      assert.equal(got.method, verb.toUpperCase());
    }
    const head = await http.head('/');
    assert.equal(head.status, 200);
    assert.equal((await head.bytes()).length, 0);
    const custom = (await (await http.request('/', { method: 'PROPFIND' })).json()) as Echo;
    assert.equal(custom.method, 'PROPFIND');
  });

  test('json, form, string, bytes, stream and async-iterable bodies', T, async (t) => {
    const { url } = await echo(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const send = async (o: Parameters<Session['post']>[1]) =>
      (await (await http.post('/', o)).json()) as Echo;

    const json = await send({ json: { a: [1, 'é'] } });
    assert.equal(json.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(json.body), { a: [1, 'é'] });

    const form = await send({ form: { username: 'john', password: 'p&ss w' } });
    assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(form.body, 'username=john&password=p%26ss+w');

    assert.equal((await send({ body: 'text' })).body, 'text');
    assert.equal((await send({ body: new Uint8Array([104, 105]) })).body, 'hi');
    assert.equal(
      (await send({ body: Readable.from([Buffer.from('str'), Buffer.from('eam')]) })).body,
      'stream',
    );
    async function* gen() {
      yield 'it';
      yield Buffer.from('er');
    }
    assert.equal((await send({ body: gen() })).body, 'iter');
    await assert.rejects(http.post('/', { json: 1, form: {} }), TypeError);
  });

  test('multipart sends fields and streams files with a Content-Length', T, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'wk-mp-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'line 1\nline 2\n');
    const { url } = await echo(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const got = (await (
      await http.post('/upload', {
        multipart: {
          title: 'hello',
          n: 3,
          doc: { path: file },
          blob: { data: 'raw', filename: 'a.json' },
        },
      })
    ).json()) as Echo;
    const type = got.headers['content-type']!;
    const boundary = /boundary=(.+)$/.exec(type)![1]!;
    assert.match(type, /^multipart\/form-data; boundary=/);
    assert.equal(Number(got.headers['content-length']), Buffer.byteLength(got.body));
    assert.equal(got.headers['transfer-encoding'], undefined);
    assert.match(got.body, /name="title"\r\n\r\nhello\r\n/);
    assert.match(
      got.body,
      /name="doc"; filename="notes.txt"\r\nContent-Type: text\/plain\r\n\r\nline 1\nline 2\n\r\n/,
    );
    assert.match(got.body, /filename="a.json"\r\nContent-Type: application\/json\r\n\r\nraw\r\n/);
    assert.ok(got.body.endsWith(`--${boundary}--\r\n`));
  });

  test('keep-alive: sequential requests reuse one connection; timings say so', T, async (t) => {
    const ports = new Set<number>();
    const { url } = await serve(t, (req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const first = await http.get('/');
    await first.text();
    // undici frees the connection for the pool a tick after the body ends.
    await new Promise((resolve) => setImmediate(resolve));
    const second = await http.get('/');
    await second.text();
    assert.equal(ports.size, 1);
    assert.equal(first.timings.reused, false);
    assert.ok(first.timings.connect >= 0);
    assert.equal(second.timings.reused, true);
    assert.equal(second.timings.connect, 0);
    const { firstByte, download, total } = second.timings;
    assert.ok(firstByte > 0 && download >= 0 && total >= firstByte, JSON.stringify(second.timings));
  });

  test(
    'connections: 1 queues concurrent requests on one socket; keepAliveTimeout 0 closes each',
    T,
    async (t) => {
      const ports: number[] = [];
      const { url } = await serve(t, (req, res) => {
        ports.push(req.socket.remotePort!);
        setTimeout(() => res.end('ok'), 20);
      });
      const one = new Session({ baseUrl: url, connections: 1 });
      t.after(() => one.close());
      const all = await Promise.all([one.get('/'), one.get('/'), one.get('/')]);
      await Promise.all(all.map((res) => res.text()));
      assert.equal(new Set(ports).size, 1);

      ports.length = 0;
      const closing = new Session({ baseUrl: url, keepAliveTimeout: 0 });
      t.after(() => closing.close());
      for (let i = 0; i < 2; i++) {
        await (await closing.get('/')).text();
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(new Set(ports).size, 2);
    },
  );

  test(
    'credentials in the URL go as Basic auth, never into res.url; a header of its own wins',
    T,
    async (t) => {
      const { url } = await echo(t);
      const http = new Session();
      t.after(() => http.close());
      const withUser = url.replace('http://', 'http://al%40ice:p%3Ass@');
      const res = await http.get(`${withUser}/me`);
      const seen = (await res.json()) as Echo;
      assert.equal(seen.headers.authorization, `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`);
      assert.equal(res.url, `${url}/me`);
      const own = await http.get(`${withUser}/me`, { headers: { authorization: 'Bearer t0ken' } });
      assert.equal(((await own.json()) as Echo).headers.authorization, 'Bearer t0ken');
      const plain = await http.get(`${url}/me`);
      assert.equal(((await plain.json()) as Echo).headers.authorization, undefined);
    },
  );

  test('CR or LF in the method, the URL or a header is a TypeError before any byte is sent', T, async (t) => {
    let requests = 0;
    const { url } = await serve(t, (_req, res) => {
      requests++;
      res.end();
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects(http.request('/', { method: 'GET /x HTTP/1.1\r\nX: y' }), TypeError);
    await assert.rejects(http.request('/', { method: 'GET\n' }), TypeError);
    await assert.rejects(http.get('/a\r\nX-Injected: 1'), TypeError);
    await assert.rejects(http.get('/a\nb'), TypeError);
    await assert.rejects(http.get('/', { headers: { 'x-a': 'v\r\nX-Injected: 1' } }), TypeError);
    await assert.rejects(http.get('/', { headers: { 'x-a\r\nX-Injected': '1' } }), TypeError);
    await assert.rejects(http.get('/', { headers: [['x-a', 'v\nw']] }), TypeError);
    assert.throws(() => new Session({ headers: { 'x-a': '1\r\n' } }), TypeError);
    assert.equal(requests, 0);
  });

  test('bad options are TypeError/RangeError at construction', () => {
    assert.throws(() => new Session({ timeout: { total: -1 } }), RangeError);
    assert.throws(() => new Session({ maxBodySize: 0 }), RangeError);
    assert.throws(() => new Session({ connections: 1.5 }), RangeError);
    assert.throws(() => new Session({ baseUrl: 'ftp://x/' }), TypeError);
    assert.throws(() => new Session({ redirect: { max: -1 } }), RangeError);
  });

  test('a closed session refuses requests', T, async () => {
    const http = new Session();
    await http.close();
    assert.equal(http.closed, true);
    await assert.rejects(http.get('http://127.0.0.1:1/'), /closed/);
  });
});
