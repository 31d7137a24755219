import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { RedirectError, TooManyRedirectsError } from '../../src/errors.js';
import { readBody, serve, T } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A server where /to/<status>?target=... redirects, and anything else echoes the request. */
async function redirector(t: Parameters<typeof serve>[0]) {
  return serve(t, async (req, res) => {
    const body = await readBody(req);
    const m = /^\/to\/(\d+)\?target=(.+)$/.exec(req.url!);
    if (m) {
      res.writeHead(Number(m[1]), { location: decodeURIComponent(m[2]!) });
      res.end('moved');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
}

const to = (status: number, target: string) => `/to/${status}?target=${encodeURIComponent(target)}`;

describe('redirects', () => {
  test('301/302/303 turn a POST into a GET without body or body headers', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    for (const status of [301, 302, 303]) {
      const res = await http.post(to(status, '/done'), {
        form: { a: '1' },
        headers: { 'content-language': 'en', 'x-keep': 'yes' },
      });
      const seen = (await res.json()) as Seen;
      assert.equal(seen.method, 'GET', `after ${status}`);
      assert.equal(seen.body, '');
      assert.equal(seen.headers['content-type'], undefined);
      assert.equal(seen.headers['content-length'], undefined);
      assert.equal(seen.headers['content-language'], undefined);
      assert.equal(seen.headers['x-keep'], 'yes');
      assert.equal(res.url, `${url}/done`);
      assert.equal(res.method, 'GET');
      assert.deepEqual(res.redirects, [
        { method: 'POST', url: `${url}${to(status, '/done')}`, status, location: `${url}/done` },
      ]);
    }
  });

  test('303 turns PUT into GET; 301/302 keep PUT and its body', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    assert.equal(((await (await http.put(to(303, '/x'), { body: 'b' })).json()) as Seen).method, 'GET');
    const kept = (await (await http.put(to(302, '/x'), { body: 'b' })).json()) as Seen;
    assert.deepEqual([kept.method, kept.body], ['PUT', 'b']);
  });

  test('307/308 keep the method and replay a buffered or multipart body', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    for (const status of [307, 308]) {
      const seen = (await (await http.post(to(status, '/done'), { json: { n: status } })).json()) as Seen;
      assert.deepEqual(
        [seen.method, seen.body, seen.headers['content-type']],
        ['POST', `{"n":${status}}`, 'application/json'],
      );
      const mp = (await (await http.post(to(status, '/mp'), { multipart: { f: 'v' } })).json()) as Seen;
      assert.match(mp.body, /name="f"\r\n\r\nv\r\n/);
    }
  });

  test('307 with a streamed body is a RedirectError, not a silently dropped body', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects(
      http.post(to(307, '/done'), { body: Readable.from([Buffer.from('once')]) }),
      (err) => {
        assert.ok(err instanceof RedirectError);
        assert.equal(err.code, 'WK_ERR_REDIRECT');
        assert.equal(err.hop.status, 307);
        return true;
      },
    );
  });

  test('credentials are dropped when the redirect changes port; kept on the same origin', T, async (t) => {
    const other = await redirector(t);
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url, redirect: { dropHeaders: ['X-Api-Key'] } });
    t.after(() => http.close());
    const headers = {
      authorization: 'Bearer secret',
      cookie: 'sid=1',
      'proxy-authorization': 'Basic eA==',
      'x-api-key': 'k',
      'x-public': 'p',
    };
    const same = (await (await http.get(to(302, '/same'), { headers })).json()) as Seen;
    assert.equal(same.headers.authorization, 'Bearer secret');
    assert.equal(same.headers.cookie, 'sid=1');
    assert.equal(same.headers['x-api-key'], 'k');

    const cross = (await (await http.get(to(302, `${other.url}/there`), { headers })).json()) as Seen;
    assert.equal(cross.url, '/there');
    for (const name of ['authorization', 'cookie', 'proxy-authorization', 'x-api-key']) {
      assert.equal(cross.headers[name], undefined, `${name} leaked to another port`);
    }
    assert.equal(cross.headers['x-public'], 'p');
    assert.equal(cross.headers.host, `127.0.0.1:${other.port}`);
  });

  test('a redirect loop ends in TooManyRedirectsError with the whole chain', T, async (t) => {
    let hits = 0;
    const { url } = await serve(t, (req, res) => {
      hits++;
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects(http.get('/a'), (err) => {
      assert.ok(err instanceof TooManyRedirectsError);
      assert.equal(err.code, 'WK_ERR_TOO_MANY_REDIRECTS');
      assert.equal(err.limit, 10);
      assert.equal(err.redirects.length, 11);
      assert.equal(err.redirects[0]!.url, `${url}/a`);
      assert.equal(err.redirects[1]!.url, `${url}/b`);
      return true;
    });
    assert.equal(hits, 11);
    await assert.rejects(http.get('/a', { redirect: { max: 2 } }), (err: TooManyRedirectsError) => {
      assert.equal(err.redirects.length, 3);
      return true;
    });
  });

  test('redirect.max 0 returns the 3xx itself', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url, redirect: { max: 0 } });
    t.after(() => http.close());
    const res = await http.get(to(302, '/x'));
    assert.equal(res.status, 302);
    assert.equal(res.header('location'), '/x');
    assert.equal(await res.text(), 'moved');
  });

  test('a Location that is not http(s) is a RedirectError', T, async (t) => {
    const { url } = await redirector(t);
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    await assert.rejects(http.get(to(302, 'file:///etc/passwd')), RedirectError);
  });
});
