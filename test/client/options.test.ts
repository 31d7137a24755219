import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeBody, encodeQuery } from '../../src/client/body.js';
import { mergeHeaders, resolveSessionOptions } from '../../src/client/options.js';
import { clientError } from '../../src/client/timeouts.js';
import { AbortError, ConnectError, SocketError, TimeoutError } from '../../src/errors.js';

describe('options', () => {
  test('mergeHeaders never lets CR or LF through: it throws TypeError or stores a clean value', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (name, value) => {
        try {
          const merged = mergeHeaders({}, { [name]: value });
          for (const [k, v] of Object.entries(merged))
            assert.ok(!/[\r\n\0:\s]/.test(k) && !/[\r\n\0]/.test(v));
        } catch (err) {
          assert.ok(err instanceof TypeError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('session options: decompress false drops Accept-Encoding; header names are lowercased', () => {
    const o = resolveSessionOptions({ decompress: false, headers: { 'X-A': 'b' } });
    assert.equal(o.headers['accept-encoding'], undefined);
    assert.equal(o.headers['x-a'], 'b');
    assert.equal(o.timeout.total, 300_000);
    assert.equal(resolveSessionOptions({ timeout: { total: 5 } }).timeout.connect, 10_000);
  });
});

describe('body encoders', () => {
  test('encodeQuery repeats arrays and skips nullish values', () => {
    assert.equal(
      encodeQuery({ a: [1, 2], b: undefined, c: null, d: 'x y&z', e: true }),
      'a=1&a=2&d=x+y%26z&e=true',
    );
    assert.equal(encodeQuery(new URLSearchParams('q=1')), 'q=1');
  });

  test('buffered bodies replay; streams do not; two bodies are a TypeError', async () => {
    const json = await encodeBody({ json: { a: 1 } });
    assert.equal(json?.replay?.().body, json?.body);
    const stream = await encodeBody({ body: (async function* () {})() });
    assert.equal(stream?.replay, undefined);
    await assert.rejects(encodeBody({ json: 1, body: 'x' }), TypeError);
    await assert.rejects(encodeBody({ json: undefined, body: 42 as never }), TypeError);
    assert.equal(await encodeBody({}), undefined);
  });

  test('multipart quotes names with CR, LF or quotes the way browsers do', async () => {
    const encoded = await encodeBody({ multipart: { 'a"b\r\nc': 'v' } });
    const chunks: Buffer[] = [];
    for await (const chunk of encoded!.body as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString();
    assert.match(text, /name="a%22b%0D%0Ac"/);
    assert.equal(Buffer.byteLength(text), encoded!.length);
  });
});

describe('error mapping', () => {
  const ctx = {
    method: 'GET',
    url: new URL('http://[::1]:8080/p?q'),
    timeout: { connect: 1, response: 2, idle: 3 },
    signal: undefined,
  };
  test("undici's errors become wirekit's, with the phase and the limit", () => {
    const map = (code: string) => clientError(Object.assign(new Error(code), { code }), ctx);
    const connect = map('UND_ERR_CONNECT_TIMEOUT') as TimeoutError;
    assert.deepEqual([connect.phase, connect.timeout], ['connect', 1]);
    assert.deepEqual([(map('UND_ERR_HEADERS_TIMEOUT') as TimeoutError).phase], ['response']);
    assert.deepEqual([(map('UND_ERR_BODY_TIMEOUT') as TimeoutError).timeout], [3]);
    assert.ok(map('UND_ERR_SOCKET') instanceof SocketError);
    assert.ok(map('UND_ERR_ABORTED') instanceof AbortError);
    const refused = clientError(
      Object.assign(new Error('x'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      ctx,
    );
    assert.ok(refused instanceof ConnectError);
    assert.equal(refused.message, 'connect to [::1]:8080 failed: ECONNREFUSED');
    const other = new RangeError('other');
    assert.equal(clientError(other, ctx), other);
  });
});
