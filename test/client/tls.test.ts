import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { Session } from '../../src/client/index.js';
import { ConnectError } from '../../src/errors.js';
import { tlsFixture } from '../helpers.js';
import { T } from './helpers.js';

describe('https and http2', () => {
  test(
    'https: the tls option trusts a CA; timings carry the handshake; untrusted is a ConnectError',
    T,
    async (t) => {
      const server = createServer(tlsFixture, (req, res) => res.end(`hello ${req.httpVersion}`));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      t.after(() => {
        server.closeAllConnections();
        server.close();
      });
      const url = `https://localhost:${(server.address() as AddressInfo).port}`;
      const http = new Session({ baseUrl: url, tls: { ca: tlsFixture.cert } });
      t.after(() => http.close());
      const res = await http.get('/');
      assert.equal(await res.text(), 'hello 1.1');
      assert.equal(res.timings.reused, false);
      assert.ok(res.timings.tls > 0, JSON.stringify(res.timings));
      assert.ok(res.timings.firstByte >= res.timings.tls);

      const strict = new Session({ baseUrl: url });
      t.after(() => strict.close());
      await assert.rejects(strict.get('/'), (err) => {
        assert.ok(err instanceof ConnectError, String(err));
        assert.match(err.systemCode ?? '', /CERT|SELF_SIGNED|UNABLE/);
        return true;
      });
    },
  );

  test('http2: true negotiates HTTP/2 by ALPN', T, async (t) => {
    const server = createSecureServer(tlsFixture, (req, res) => res.end(`hello ${req.httpVersion}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = new Session({ baseUrl: url, http2: true, tls: { ca: tlsFixture.cert } });
    t.after(() => http.close());
    const res = await http.get('/', { query: { a: 1 } });
    assert.equal(await res.text(), 'hello 2.0');
    const posted = await http.post('/', { json: {} });
    assert.equal(posted.status, 200);
    await posted.dump();
  });
});
