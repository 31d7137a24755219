import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { decodeText } from '../../src/client/response.js';
import { HttpStatusError } from '../../src/errors.js';
import { serve, T } from './helpers.js';

describe('Response', () => {
  test('text() decodes the charset Content-Type names; UTF-8 (BOM dropped) otherwise', () => {
    const gbk = Buffer.from([0xc4, 0xe3, 0xba, 0xc3]); // 你好 in GBK
    assert.equal(decodeText(gbk, 'text/html; charset=GBK'), '你好');
    assert.equal(decodeText(Buffer.from([0xe9]), 'text/plain; charset="iso-8859-1"'), 'é');
    assert.equal(decodeText(Buffer.from('\ufeffhi'), 'text/plain'), 'hi');
    assert.equal(decodeText(Buffer.from('hé'), 'text/plain; charset=no-such-charset'), 'hé');
    assert.equal(decodeText(Buffer.from('hé'), undefined), 'hé');
  });

  test('json(), bytes(), header(); the buffered body is kept, a streamed one is gone', T, async (t) => {
    const { url } = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
      res.end('{"ok":true}');
    });
    const http = new Session({ baseUrl: url });
    t.after(() => http.close());
    const res = await http.get('/');
    assert.equal(res.header('Content-Type'), 'application/json');
    assert.equal(res.header('x-multi'), 'a, b');
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(res.bodyUsed, true);
    // Read once and kept, as aiohttp does: text() and bytes() after json() give the same body.
    assert.equal(await res.text(), '{"ok":true}');
    assert.equal(await res.bytes(), await res.bytes());
    assert.throws(() => res.body, TypeError);
    assert.equal((await (await http.get('/')).bytes()).toString(), '{"ok":true}');
    const dumped = await http.get('/');
    await dumped.dump();
    await assert.rejects(dumped.text(), TypeError);
    const streamed = await http.get('/');
    for await (const chunk of streamed.body) assert.ok(chunk.length > 0);
    await assert.rejects(streamed.bytes(), TypeError);
  });

  test(
    'raiseForStatus() throws HttpStatusError for 4xx/5xx and returns the response otherwise',
    T,
    async (t) => {
      const { url } = await serve(t, (req, res) => {
        res.statusCode = Number(req.url!.slice(1));
        res.end(`status ${res.statusCode}`);
      });
      const http = new Session({ baseUrl: url });
      t.after(() => http.close());
      const ok = await http.get('/204');
      assert.equal(ok.raiseForStatus(), ok);
      const missing = await http.get('/404');
      assert.equal(missing.ok, false);
      assert.throws(
        () => missing.raiseForStatus(),
        (err: HttpStatusError) =>
          err.code === 'WK_ERR_HTTP_STATUS' && err.status === 404 && err.response === missing,
      );
      await missing.dump();
    },
  );

  test('throwHttpErrors rejects with HttpStatusError whose response body is still readable', T, async (t) => {
    const { url } = await serve(t, (req, res) => {
      res.statusCode = req.url === '/boom' ? 503 : 200;
      res.end(req.url === '/boom' ? 'try later' : 'fine');
    });
    const http = new Session({ baseUrl: url, throwHttpErrors: true });
    t.after(() => http.close());
    const err = await http.get('/boom').then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof HttpStatusError);
    assert.equal(err.status, 503);
    assert.equal(await err.response.text(), 'try later');
    assert.equal(await (await http.get('/fine')).text(), 'fine');
    assert.equal((await http.get('/boom', { throwHttpErrors: false })).status, 503);
  });
});
