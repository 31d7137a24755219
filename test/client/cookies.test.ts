import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { needPython, python, serve, T } from './helpers.js';

describe('cookies', () => {
  test('the jar is read and written on every redirect hop', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/a') res.writeHead(302, { location: '/b', 'set-cookie': 'one=1; Path=/' });
      else if (req.url === '/b')
        res.writeHead(302, { location: '/c', 'set-cookie': ['two=2; Path=/', 'x=y'] });
      else res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.headers.cookie ?? '');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const res = await http.get('/a');
    assert.equal(await res.text(), 'one=1; two=2; x=y');
    assert.equal(http.cookies!.get(`${url}/`, 'two'), '2');
    assert.deepEqual(
      http
        .cookies!.list()
        .map((c) => c.key)
        .sort(),
      ['one', 'two', 'x'],
    );
  });

  test('Domain=__proto__ and Domain=com cookies are refused; nothing is polluted', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/set') {
        res.setHeader('set-cookie', [
          'p=1; Domain=__proto__; Path=/',
          'c=1; Domain=com; Path=/',
          'constructor=2; Domain=127.0.0.1',
          'ok=1',
        ]);
      }
      res.end(req.headers.cookie ?? '');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await (await http.get('/set')).dump();
    assert.equal(await (await http.get('/show')).text(), 'constructor=2; ok=1');
    assert.equal(({} as Record<string, unknown>).p, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'path'), false);
    assert.throws(() => http.cookies!.set('http://example.com/', 'a=1; Domain=com'), /cookie|domain/i);
  });

  test('cookies work for localhost as in browsers, including Secure on http://localhost', T, async (t) => {
    const { port } = await serve(t, (req, res) => {
      if (req.url === '/set')
        res.setHeader('set-cookie', ['host=1', 'sec=1; Secure', 'dom=1; Domain=localhost']);
      res.end(req.headers.cookie ?? '');
    });
    const http = new Session({ baseUrl: `http://localhost:${port}` });
    t.after(() => http.close());
    await (await http.get('/set')).dump();
    assert.equal(await (await http.get('/show')).text(), 'host=1; sec=1; dom=1');
  });

  test('session.cookies sets cookies by hand; cookies: false keeps none', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      res.setHeader('set-cookie', 'server=1');
      res.end(req.headers.cookie ?? '');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    http.cookies!.set(`${url}/`, 'lang=zh-CN; Path=/');
    assert.equal(await (await http.get('/', { headers: { cookie: 'mine=1' } })).text(), 'mine=1; lang=zh-CN');
    http.cookies!.clear();
    assert.equal(http.cookies!.list().length, 0);

    const none = new Session({ baseUrl: url, cookies: false });
    t.after(() => none.close());
    assert.equal(none.cookies, null);
    await (await none.get('/')).dump();
    assert.equal(await (await none.get('/')).text(), '');
  });

  test('cookies: { file } persists the jar across sessions (mode 0600)', T, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'wk-jar-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'cookies.json');
    const { url } = await serve(t, (req, res) => {
      if (req.url === '/login') res.setHeader('set-cookie', 'sid=abc; Max-Age=3600; Path=/');
      res.end(req.headers.cookie ?? '');
    });
    const first = new Session({ baseUrl: url, cookies: { file } });
    await (await first.get('/login')).dump();
    await first.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, 'utf8'), /"sid"/);
    const second = new Session({ baseUrl: url, cookies: { file } });
    assert.equal(await (await second.get('/')).text(), 'sid=abc');
    await second.close();
  });

  test(
    'python3 http.server: Set-Cookie on a 302 is kept; public-suffix and __proto__ domains are not',
    T,
    async (t) => {
      const interpreter = needPython(t, 'http.server');
      if (interpreter === undefined) return;
      const { url } = await python(t, interpreter, 'http_server.py');
      const http = new Session({ baseUrl: url });
      t.after(() => http.close());
      const res = await http.get('/set');
      assert.deepEqual(await res.json(), { cookie: 'theme=dark' });
      assert.equal(res.redirects[0]!.status, 302);
      await (await http.get('/clear')).dump();
      assert.deepEqual(await (await http.get('/show')).json(), { cookie: '' });
    },
  );

  test(
    'python3 aiohttp: urlencoded login, 303 to GET with the session cookie, 308 replays POST',
    T,
    async (t) => {
      const interpreter = needPython(t, 'aiohttp');
      if (interpreter === undefined) return;
      const { url } = await python(t, interpreter, 'aiohttp_server.py');
      const http = new Session({ baseUrl: url });
      t.after(() => http.close());
      const res = await http.post('/login', {
        form: { username: 'john', password: 'secret', submit: 'Login' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.method, 'GET');
      assert.equal(await res.text(), 'welcome s-john');
      assert.deepEqual(
        res.redirects.map((r) => [r.method, r.status]),
        [['POST', 303]],
      );
      const chain = await http.get('/chain/3');
      assert.equal(chain.redirects.length, 4);
      const { cookie } = (await chain.json()) as { cookie: string };
      assert.deepEqual(cookie.split('; ').sort(), ['hop0=0', 'hop1=1', 'hop2=2', 'hop3=3', 'session=s-john']);
      assert.equal(await (await http.post('/repost', { body: 'again' })).text(), 'POST again');
    },
  );
});
