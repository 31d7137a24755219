import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import {
  bodyDefaults,
  bodyStream,
  formDefaults,
  readBytes,
  readForm,
  readJson,
  readText,
} from '../../src/server/body.js';
import { HttpError } from '../../src/server/errors.js';
import { bombOf, chunks, raw, rssGrowth, send, serve, type TestServer, within } from './body-helpers.js';
import { sleep } from '../helpers.js';

const T = { timeout: 20_000 };
const MiB = 1024 * 1024;

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Asserts that the handler threw an HttpError with `status` (and a message matching `pattern`). */
async function thrown(server: TestServer, status: number, pattern?: RegExp): Promise<HttpError> {
  const outcome = await server.outcome();
  assert.ok(outcome.error instanceof HttpError, `expected an HttpError, got ${String(outcome.error)}`);
  assert.equal(outcome.error.status, status, outcome.error.message);
  if (pattern) assert.match(outcome.error.message, pattern);
  return outcome.error;
}

const fakeRequest = () => new IncomingMessage(new net.Socket());

describe('body options', () => {
  test('the defaults objects have every key with its default', () => {
    assert.deepEqual(bodyDefaults, { limit: 1_048_576 });
    assert.deepEqual(formDefaults, { limit: 1_048_576, maxKeys: 1000 });
  });

  test('nonsense options are a TypeError or RangeError before anything is read', async () => {
    const req = fakeRequest();
    await assert.rejects(readBytes(req, { limit: '1' as unknown as number }), TypeError);
    await assert.rejects(readBytes(req, { limit: -1 }), RangeError);
    await assert.rejects(readBytes(req, { limit: 1.5 }), RangeError);
    await assert.rejects(readBytes(req, { limit: NaN }), RangeError);
    await assert.rejects(readBytes(req, null as unknown as undefined), TypeError);
    await assert.rejects(readForm(req, { maxKeys: -1 }), RangeError);
    assert.throws(() => bodyStream(req, { limit: -5 }), RangeError);
    assert.equal(req.readableDidRead, false);
  });
});

describe('readBytes', () => {
  test('returns a Content-Length body byte for byte', T, async (t) => {
    const server = await serve(t, async (req) => sha(await readBytes(req)));
    const body = randomBytes(300_000);
    const reply = await send(server, '/', { body });
    assert.equal(reply.status, 200);
    assert.equal(reply.json.value, sha(body));
  });

  test('returns a chunked body byte for byte', T, async (t) => {
    const server = await serve(t, async (req) => sha(await readBytes(req)));
    const parts = [randomBytes(10_000), randomBytes(70_000), randomBytes(1)];
    const reply = await send(server, '/', { body: parts });
    assert.equal(reply.json.value, sha(Buffer.concat(parts)));
  });

  test('a body of exactly the limit passes and one byte more is a 413', T, async (t) => {
    const server = await serve(t, async (req) => (await readBytes(req, { limit: 1000 })).length);
    assert.equal((await send(server, '/', { body: Buffer.alloc(1000) })).json.value, 1000);
    assert.equal((await send(server, '/', { body: Buffer.alloc(1000), chunked: true })).json.value, 1000);
    assert.equal((await send(server, '/', { body: Buffer.alloc(1001) })).status, 413);
    assert.equal((await send(server, '/', { body: [Buffer.alloc(1001)] })).status, 413);
  });

  test('a request without a body reads as empty', T, async (t) => {
    const server = await serve(t, async (req) => (await readBytes(req)).length);
    assert.equal((await send(server, '/', { method: 'GET' })).json.value, 0);
  });

  test('a Content-Length over the limit is a 413 before a byte of the body is sent', T, async (t) => {
    let didRead: boolean | undefined;
    const server = await serve(t, async (req) => {
      try {
        return await readBytes(req);
      } finally {
        didRead = req.readableDidRead;
      }
    });
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MiB}\r\n\r\n`;
    const reply = await raw(server, head, { hold: true, ms: 3_000 });
    assert.equal(reply.status, 413, reply.text);
    assert.match(reply.text, /connection: close/i);
    await thrown(server, 413, /Content-Length 10485760 is larger than the 1048576-byte limit/);
    assert.equal(didRead, false);
  });

  test(
    'a chunked body is a 413 as soon as it passes the limit, without waiting for its end',
    T,
    async (t) => {
      const server = await serve(t, (req) => readBytes(req, { limit: 64 * 1024 }));
      let sent = 0;
      let stop = false;
      async function* slowBody() {
        // 128 KiB right away, then a trickle that would take a minute to finish.
        yield Buffer.alloc(128 * 1024);
        sent += 128 * 1024;
        while (!stop) {
          await sleep(50);
          yield Buffer.alloc(10);
        }
      }
      t.after(() => (stop = true));
      const reply = await within(send(server, '/', { body: slowBody() }), 5_000, 'the 413');
      stop = true;
      assert.equal(reply.status, 413);
      assert.equal(reply.headers.connection, 'close');
      assert.equal(sent, 128 * 1024);
      await thrown(server, 413);
    },
  );

  for (const [coding, encode] of [
    ['gzip', zlib.gzipSync],
    ['x-gzip', zlib.gzipSync],
    ['GZIP', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
    ['identity', (b: Buffer) => b],
  ] as const) {
    test(`a ${coding} body is decoded`, T, async (t) => {
      const server = await serve(t, async (req) => sha(await readBytes(req)));
      const body = Buffer.from('hello wirekit '.repeat(5000));
      const reply = await send(server, '/', {
        body: encode(body),
        headers: { 'content-encoding': coding },
      });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.value, sha(body));
    });
  }

  test('a gzip body that decodes past the limit is a 413 though its wire size is under it', T, async (t) => {
    const server = await serve(t, (req) => readBytes(req, { limit: 100_000 }));
    const body = zlib.gzipSync(Buffer.alloc(100_001, 'a'));
    assert.ok(body.length < 1000);
    const reply = await send(server, '/', { body, headers: { 'content-encoding': 'gzip' } });
    assert.equal(reply.status, 413);
    await thrown(server, 413);
  });

  test('a 50 MiB gzip bomb is a 413 and the server grows by less than 20 MiB', T, async (t) => {
    const bomb = await bombOf(50 * MiB);
    assert.ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`);
    const server = await serve(t, (req) => readBytes(req));
    let reply: Awaited<ReturnType<typeof send>> | undefined;
    const [, growth] = await rssGrowth(async () => {
      reply = await send(server, '/', { body: bomb, headers: { 'content-encoding': 'gzip' } });
    });
    assert.equal(reply?.status, 413);
    await thrown(server, 413);
    t.diagnostic(`RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(growth < 20 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  test('an unknown Content-Encoding is a 415 and stacked codings are too', T, async (t) => {
    const server = await serve(t, (req) => readBytes(req));
    const compress = await send(server, '/', { body: 'x', headers: { 'content-encoding': 'compress' } });
    assert.equal(compress.status, 415);
    await thrown(server, 415, /compress/);
    const stacked = zlib.gzipSync(zlib.gzipSync('x'));
    const both = await send(server, '/', { body: stacked, headers: { 'content-encoding': 'gzip, gzip' } });
    assert.equal(both.status, 415);
    await thrown(server, 415, /stacked/);
  });

  test('a corrupt or truncated gzip body is a 400', T, async (t) => {
    const server = await serve(t, (req) => readBytes(req));
    const gzip = { 'content-encoding': 'gzip' };
    assert.equal((await send(server, '/', { body: 'not gzip at all', headers: gzip })).status, 400);
    await thrown(server, 400, /gzip request body is corrupt/);
    const whole = zlib.gzipSync(randomBytes(5000));
    assert.equal((await send(server, '/', { body: whole.subarray(0, 2000), headers: gzip })).status, 400);
    await thrown(server, 400);
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 6] = flipped[flipped.length - 6]! ^ 0xff; // the CRC
    assert.equal((await send(server, '/', { body: flipped, headers: gzip })).status, 400);
    await thrown(server, 400);
    assert.equal((await send(server, '/', { body: 'x', headers: { 'content-encoding': 'br' } })).status, 400);
    await thrown(server, 400, /br request body is corrupt/);
  });

  test('an empty body with a Content-Encoding reads as empty', T, async (t) => {
    const server = await serve(t, async (req) => (await readBytes(req)).length);
    const reply = await send(server, '/', { body: '', headers: { 'content-encoding': 'gzip' } });
    assert.equal(reply.json.value, 0);
  });

  test('a client that goes away mid-body makes the read fail with a 400, not hang', T, async (t) => {
    const server = await serve(t, (req) => readBytes(req));
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a few bytes');
    await sleep(100);
    socket.destroy();
    await thrown(server, 400, /cut short/);
  });

  test(
    'the bytes are cached: every buffered reader may follow another, each with its limit',
    T,
    async (t) => {
      const server = await serve(t, async (req) => {
        const bytes = await readBytes(req);
        const again = await readBytes(req);
        const json = await readJson(req);
        const text = await readText(req);
        const streamed: Buffer[] = [];
        for await (const chunk of bodyStream(req)) streamed.push(chunk as Buffer);
        assert.equal(bytes, again);
        await assert.rejects(readBytes(req, { limit: 3 }), (err: HttpError) => err.status === 413);
        return { json, text, streamed: Buffer.concat(streamed).toString() };
      });
      const reply = await send(server, '/', {
        body: '{"a":[1,2]}',
        headers: { 'content-type': 'application/json' },
      });
      assert.deepEqual(reply.json.value, {
        json: { a: [1, 2] },
        text: '{"a":[1,2]}',
        streamed: '{"a":[1,2]}',
      });
    },
  );

  test('a streamed body cannot be read again: a 500 that does not expose its message', T, async (t) => {
    const server = await serve(t, async (req) => {
      const stream = bodyStream(req);
      assert.throws(
        () => bodyStream(req),
        (err: HttpError) => err.status === 500 && !err.expose,
      );
      await assert.rejects(readBytes(req), (err: HttpError) => err.status === 500 && !err.expose);
      let size = 0;
      for await (const chunk of stream) size += (chunk as Buffer).length;
      return size;
    });
    assert.equal((await send(server, '/', { body: 'abc' })).json.value, 3);
  });

  test('a failed read fails the same way when read again', T, async (t) => {
    const server = await serve(t, async (req) => {
      await assert.rejects(readBytes(req, { limit: 2 }), (err: HttpError) => err.status === 413);
      return readBytes(req, { limit: 100 });
    });
    assert.equal((await send(server, '/', { body: 'abcd', chunked: true })).status, 413);
  });

  test('limit Infinity lifts the limit', T, async (t) => {
    const server = await serve(t, async (req) => (await readBytes(req, { limit: Infinity })).length);
    assert.equal((await send(server, '/', { body: Buffer.alloc(3 * MiB) })).json.value, 3 * MiB);
  });
});

describe('readText', () => {
  const cases: [string, Buffer, string][] = [
    ['text/plain', Buffer.from('héllo ✓'), 'héllo ✓'],
    ['text/plain; charset=utf-8', Buffer.from('\ufeffhéllo'), 'héllo'],
    ['text/plain; charset=ISO-8859-1', Buffer.from([0x68, 0xe9]), 'hé'],
    ['text/plain; charset=latin1', Buffer.from([0xe9, 0x41]), 'éA'],
    ['text/plain; charset="utf-16le"', Buffer.from('hé✓', 'utf16le'), 'hé✓'],
    ['application/octet-stream', Buffer.from([0x61, 0xff, 0x62]), 'a\ufffdb'],
  ];
  for (const [type, body, expected] of cases) {
    test(`decodes ${type}`, T, async (t) => {
      const server = await serve(t, (req) => readText(req));
      const reply = await send(server, '/', { body, headers: { 'content-type': type } });
      assert.equal(reply.json.value, expected);
    });
  }

  test('an unknown charset is a 415', T, async (t) => {
    const server = await serve(t, (req) => readText(req));
    const reply = await send(server, '/', {
      body: 'x',
      headers: { 'content-type': 'text/plain; charset=klingon' },
    });
    assert.equal(reply.status, 415);
    await thrown(server, 415, /klingon/);
  });
});

describe('readJson', () => {
  for (const type of [
    'application/json',
    'Application/JSON; charset=UTF-8',
    'application/vnd.api+json',
    'application/merge-patch+json',
  ]) {
    test(`parses a ${type} body`, T, async (t) => {
      const server = await serve(t, (req) => readJson(req));
      const reply = await send(server, '/', {
        body: '{"a":[1,"é",null]}',
        headers: { 'content-type': type },
      });
      assert.deepEqual(reply.json.value, { a: [1, 'é', null] });
    });
  }

  test('another Content-Type, or none, is a 415', T, async (t) => {
    const server = await serve(t, (req) => readJson(req));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', undefined]) {
      const headers = type === undefined ? {} : { 'content-type': type };
      assert.equal((await send(server, '/', { body: '{}', headers })).status, 415, type);
      await thrown(server, 415);
    }
    const utf16 = { 'content-type': 'application/json; charset=utf-16' };
    assert.equal((await send(server, '/', { body: '{}', headers: utf16 })).status, 415);
    await thrown(server, 415, /UTF-8/);
  });

  test('invalid JSON is a 400 whose message does not echo the body', T, async (t) => {
    const server = await serve(t, (req) => readJson(req));
    const json = { 'content-type': 'application/json' };
    const reply = await send(server, '/', { body: '{"secret": tru', headers: json });
    assert.equal(reply.status, 400);
    assert.equal(reply.json.error, 'the request body is not valid JSON');
    await thrown(server, 400);
    assert.equal((await send(server, '/', { body: '', headers: json })).status, 400);
    await thrown(server, 400, /empty/);
    const latin1 = Buffer.from([0x22, 0xe9, 0x22]);
    assert.equal((await send(server, '/', { body: latin1, headers: json })).status, 400);
    await thrown(server, 400, /UTF-8/);
  });

  test('a U+FFFD the client sent is text; one that decoding made is a 400', T, async (t) => {
    const server = await serve(t, (req) => readJson(req));
    const json = { 'content-type': 'application/json' };
    const sent = await send(server, '/', { body: '{"a":"\ufffd"}', headers: json });
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.json.value, { a: '\ufffd' });
    assert.equal((await server.outcome()).error, undefined);
    const invalid = Buffer.concat([Buffer.from('{"a":"\ufffd'), Buffer.from([0xff]), Buffer.from('"}')]);
    assert.equal((await send(server, '/', { body: invalid, headers: json })).status, 400);
    await thrown(server, 400, /UTF-8/);
  });

  test('a gzip JSON body over the limit is a 413', T, async (t) => {
    const server = await serve(t, (req) => readJson(req, { limit: 1000 }));
    const body = zlib.gzipSync(JSON.stringify({ a: 'x'.repeat(2000) }));
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    assert.equal((await send(server, '/', { body, headers })).status, 413);
    await thrown(server, 413);
  });

  test('__proto__ and constructor.prototype keys do not survive, escaped or not', T, async (t) => {
    const server = await serve(t, async (req) => {
      const value = (await readJson(req)) as Record<string, unknown>;
      const merged = Object.assign({}, value, (value['nested'] as object[])[0]);
      return {
        keys: Object.keys(value),
        nested: Object.keys((value['nested'] as object[])[0]!),
        polluted: (merged as { polluted?: unknown }).polluted ?? null,
      };
    });
    const body =
      '{"a":1,"__proto__":{"polluted":1},"nested":[{"\\u005f_proto__":{"polluted":2},' +
      '"constructor":{"prototype":{"polluted":3}},"b":2}],"constructor":"ok"}';
    const reply = await send(server, '/', { body, headers: { 'content-type': 'application/json' } });
    assert.deepEqual(reply.json.value, {
      keys: ['a', 'nested', 'constructor'],
      nested: ['b'],
      polluted: null,
    });
  });
});

describe('readForm', () => {
  const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };

  test(
    'parses pairs into a null-prototype object; a repeated key becomes an array in order',
    T,
    async (t) => {
      const server = await serve(t, async (req) => {
        const form = await readForm(req);
        assert.equal(Object.getPrototypeOf(form), null);
        return { ...form };
      });
      const body = 'a=1&b=two+words&c=%C3%A9&a=2&empty=&bare&&a=3&%5F_proto__=x&d=raw é';
      const reply = await send(server, '/', { body, headers: urlencoded });
      assert.deepEqual(reply.json.value, {
        a: ['1', '2', '3'],
        b: 'two words',
        c: 'é',
        empty: '',
        bare: '',
        ['__proto__']: 'x',
        d: 'raw é',
      });
      assert.equal(({} as { x?: unknown }).x, undefined);
    },
  );

  test('round-trips any list of pairs URLSearchParams encodes', T, async (t) => {
    const server = await serve(t, async (req) => ({ ...(await readForm(req)) }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.string({ unit: 'grapheme', maxLength: 8 }),
            fc.string({ unit: 'grapheme', maxLength: 8 }),
          ),
          {
            maxLength: 12,
          },
        ),
        async (pairs) => {
          const expected: Record<string, string | string[]> = Object.create(null);
          for (const [key, value] of pairs) {
            const previous = expected[key];
            if (previous === undefined) expected[key] = value;
            else if (typeof previous === 'string') expected[key] = [previous, value];
            else previous.push(value);
          }
          const body = new URLSearchParams(pairs).toString();
          const reply = await send(server, '/', { body, headers: urlencoded });
          assert.equal(reply.status, 200, reply.text);
          assert.deepEqual(reply.json.value, JSON.parse(JSON.stringify(expected)));
          await server.outcome();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('more than maxKeys pairs is a 413; exactly maxKeys passes', T, async (t) => {
    const server = await serve(t, async (req) => Object.keys(await readForm(req)).length);
    const form = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join('&');
    assert.equal((await send(server, '/', { body: form(1000), headers: urlencoded })).json.value, 1000);
    await server.outcome();
    assert.equal((await send(server, '/', { body: form(1001), headers: urlencoded })).status, 413);
    await thrown(server, 413, /more than 1000 keys/);
    const custom = await serve(t, async (req) => Object.keys(await readForm(req, { maxKeys: 2 })).length);
    assert.equal((await send(custom, '/', { body: 'a=1&&b=2&', headers: urlencoded })).json.value, 2);
    assert.equal((await send(custom, '/', { body: 'a=1&b=2&c', headers: urlencoded })).status, 413);
  });

  test('another Content-Type, or none, is a 415', T, async (t) => {
    const server = await serve(t, (req) => readForm(req));
    for (const type of ['multipart/form-data; boundary=x', 'application/json', undefined]) {
      const headers = type === undefined ? {} : { 'content-type': type };
      assert.equal((await send(server, '/', { body: 'a=1', headers })).status, 415);
      await thrown(server, 415);
    }
    const charset = { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' };
    assert.deepEqual((await send(server, '/', { body: 'a=1', headers: charset })).json.value, { a: '1' });
  });
});

describe('bodyStream', () => {
  test('streams a large chunked body to the end with limit Infinity', T, async (t) => {
    const server = await serve(t, async (req) => {
      const hash = createHash('sha256');
      for await (const chunk of bodyStream(req, { limit: Infinity })) hash.update(chunk as Buffer);
      return hash.digest('hex');
    });
    const reply = await send(server, '/', { body: chunks(80, 64 * 1024, 0x62) });
    assert.equal(reply.json.value, sha(Buffer.alloc(80 * 64 * 1024, 0x62)));
  });

  test(
    'fails mid-stream with the 413 once the limit is passed, after delivering at most the limit',
    T,
    async (t) => {
      let delivered = 0;
      const server = await serve(t, async (req) => {
        for await (const chunk of bodyStream(req, { limit: 100_000 })) delivered += (chunk as Buffer).length;
        return delivered;
      });
      const reply = await send(server, '/', { body: chunks(40, 16 * 1024) });
      assert.equal(reply.status, 413);
      await thrown(server, 413);
      assert.ok(delivered > 0 && delivered <= 100_000, `delivered ${delivered}`);
    },
  );

  test('throws at once for a Content-Length over the limit or an unknown encoding', T, async (t) => {
    const server = await serve(t, (req) => bodyStream(req, { limit: 10 }));
    assert.equal((await send(server, '/', { body: 'x'.repeat(11) })).status, 413);
    await thrown(server, 413);
    assert.equal(
      (await send(server, '/', { body: 'x', headers: { 'content-encoding': 'zstd' } })).status,
      415,
    );
    await thrown(server, 415);
  });

  test('a gzip bomb read by a consumer that pauses is not inflated ahead of it', T, async (t) => {
    // What the body stream holds while its consumer sleeps is what it inflated ahead of it.
    // (Process memory would also count the test client's buffers in this same process.)
    const bomb = await bombOf(200 * MiB);
    let held = Infinity;
    const server = await serve(t, async (req) => {
      let size = 0;
      const stream = bodyStream(req, { limit: Infinity });
      for await (const chunk of stream) {
        size += (chunk as Buffer).length;
        if (size === 10 * MiB) {
          await sleep(300);
          held = stream.readableLength;
        }
      }
      return size;
    });
    const reply = await send(server, '/', { body: bomb, headers: { 'content-encoding': 'gzip' } });
    assert.equal(reply.json.value, 200 * MiB);
    t.diagnostic(`held ${(held / 1024).toFixed(0)} KiB while the consumer slept`);
    assert.ok(held < 4 * MiB, `held ${(held / MiB).toFixed(1)} MiB while the consumer slept`);
  });

  test('a consumer that stops early leaves the connection able to answer', T, async (t) => {
    const server = await serve(t, async (req) => {
      const stream = bodyStream(req, { limit: Infinity });
      for await (const chunk of stream) return (chunk as Buffer).length > 0;
      return false;
    });
    const reply = await send(server, '/', { body: chunks(100, 64 * 1024) });
    assert.equal(reply.status, 200);
    assert.equal(reply.json.value, true);
  });
});
