import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { ConnectError, ProxyError } from '../../src/errors.js';
import { Session } from '../../src/client/index.js';
import { noProxyRules, proxied } from '../../src/client/no-proxy.js';
import { needPeer, tlsFixture } from '../helpers.js';
import { serve, T } from './helpers.js';
import { freePort, socks5Double, startDante, startSquid, startTinyproxy } from './proxy-peers.js';

const tls = { ca: tlsFixture.cert };

/** An https origin with the test certificate, on 127.0.0.1 port 0. */
async function serveTls(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; port: number }> {
  const server = createServer(tlsFixture, handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}`, port };
}

const echo = (req: IncomingMessage, res: ServerResponse): void => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ url: req.url, headers: req.headers }));
};

interface Echo {
  url: string;
  headers: Record<string, string>;
}

describe('proxies', () => {
  test(
    'a plain-http GET goes through squid in absolute form, keeps its connection to squid, and has timings',
    T,
    async (t) => {
      if (!needPeer(t, '/usr/sbin/squid', ['-v'])) return;
      const origin = await serve(t, echo);
      const squid = await startSquid(t);
      const http = new Session({ proxy: squid.url });
      t.after(() => http.close());
      const seen: boolean[] = [];
      for (const path of ['/a', '/b', '/c']) {
        const res = await http.get(`${origin.url}${path}?q=1`);
        assert.equal(res.status, 200);
        assert.match(String(res.headers.via), /squid/);
        const body = (await res.json()) as Echo;
        assert.equal(body.url, `${path}?q=1`);
        assert.match(body.headers.via!, /squid/);
        assert.equal(body.headers.host, `127.0.0.1:${origin.port}`);
        seen.push(res.timings.reused);
        if (!res.timings.reused) assert.ok(res.timings.connect > 0, 'a new connection to squid is timed');
        assert.ok(res.timings.total >= res.timings.firstByte);
      }
      assert.equal(seen[0], false);
      assert.equal(seen.at(-1), true, 'the connection to squid is kept alive');
      await http.close(); // squid logs a transaction once its connection is done with it
      await squid.logged(new RegExp(`GET http://127\\.0\\.0\\.1:${origin.port}/a`)); // squid strips query strings from its log
    },
  );

  test(
    'an https GET goes through a squid CONNECT tunnel, timed to the tunnel (connect) and inside it (tls)',
    T,
    async (t) => {
      if (!needPeer(t, '/usr/sbin/squid', ['-v'])) return;
      const origin = await serveTls(t, echo);
      // squid's default config denies CONNECT to any port but 443 (SSL_ports); the origin listens
      // on a free port, so this test adds that port to SSL_ports in its copy of the config.
      const squid = await startSquid(t, { sslPorts: [origin.port] });
      const http = new Session({ proxy: squid.url, tls });
      t.after(() => http.close());
      const first = await http.get(`${origin.url}/secure`);
      assert.equal(first.status, 200);
      const body = (await first.json()) as Echo;
      assert.equal(body.url, '/secure');
      assert.equal(body.headers.via, undefined, 'inside a tunnel squid sees no HTTP');
      assert.equal(body.headers['proxy-authorization'], undefined);
      assert.equal(first.timings.reused, false);
      assert.ok(first.timings.connect > 0 && first.timings.tls > 0, JSON.stringify(first.timings));
      const again = await http.get(`${origin.url}/again`);
      await again.dump();
      const third = await http.get(`${origin.url}/third`);
      await third.dump();
      assert.equal(third.timings.reused, true, 'the tunnel is kept alive');
      await http.close(); // squid logs a tunnel when it closes
      await squid.logged(new RegExp(`CONNECT 127\\.0\\.0\\.1:${origin.port}`));
    },
  );

  test(
    "squid's default config refuses a CONNECT to a port other than 443: a ProxyError 403 naming the proxy, not its credentials",
    T,
    async (t) => {
      if (!needPeer(t, '/usr/sbin/squid', ['-v'])) return;
      const origin = await serveTls(t, echo);
      const squid = await startSquid(t);
      const http = new Session({ proxy: `http://someone:hunter2@127.0.0.1:${squid.port}`, tls });
      t.after(() => http.close());
      const err = await http.get(`${origin.url}/`).then(
        () => assert.fail('the tunnel was refused'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProxyError, String(err));
      assert.equal(err.code, 'WK_ERR_PROXY');
      assert.equal(err.status, 403);
      assert.equal(err.proxy, `127.0.0.1:${squid.port}`);
      assert.match(err.message, /refused the tunnel to 127\.0\.0\.1:\d+ \(403\)/);
      assert.doesNotMatch(`${err.message} ${err.stack}`, /hunter2|someone/);
    },
  );

  test(
    'tinyproxy with BasicAuth: no credentials is a ProxyError 407 over absolute form and CONNECT; wrong ones are refused; the right ones work',
    T,
    async (t) => {
      if (!needPeer(t, '/usr/bin/tinyproxy', ['-v'])) return;
      const origin = await serve(t, echo);
      const secure = await serveTls(t, echo);
      const { port } = await startTinyproxy(t, { user: 'wirekit', pass: 's3cret' });
      const anonymous = new Session({ proxy: `http://127.0.0.1:${port}`, tls });
      t.after(() => anonymous.close());
      for (const url of [`${origin.url}/`, `${secure.url}/`]) {
        const err = await anonymous.get(url).then(
          (res) => assert.fail(`no credentials, no request: ${url} got ${res.status}`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ProxyError, String(err));
        assert.equal(err.status, 407);
        assert.match(err.message, new RegExp(`^proxy 127\\.0\\.0\\.1:${port} requires authentication`));
      }
      // tinyproxy answers wrong credentials with 401 (not 407): through a tunnel that is a refused
      // CONNECT; in absolute form it cannot be told from the origin's own 401, so it is the response.
      const wrong = new Session({ proxy: `http://wirekit:wrong-pass@127.0.0.1:${port}`, tls });
      t.after(() => wrong.close());
      const refused = await wrong.get(`${secure.url}/`).catch((e: unknown) => e);
      assert.ok(refused instanceof ProxyError && refused.status === 401, String(refused));
      assert.doesNotMatch(`${refused.message} ${refused.stack}`, /wrong-pass/);
      const answered = await wrong.get(`${origin.url}/`);
      assert.equal(answered.status, 401);
      assert.match(String(answered.headers.server), /tinyproxy/);
      await answered.dump();

      const http = new Session({ proxy: `http://wirekit:s3cret@127.0.0.1:${port}`, tls });
      t.after(() => http.close());
      const plain = await http.get(`${origin.url}/plain`);
      assert.equal(plain.status, 200);
      assert.equal(((await plain.json()) as Echo).headers['proxy-authorization'], undefined);
      const tunnelled = await http.get(`${secure.url}/tunnel`);
      assert.equal(tunnelled.status, 200);
      const body = (await tunnelled.json()) as Echo;
      assert.equal(body.url, '/tunnel');
      assert.equal(body.headers['proxy-authorization'], undefined, 'credentials stay with the proxy');
    },
  );

  test(
    'a user and password with @ and : percent-encoded in the proxy URL are decoded (squid Basic auth)',
    T,
    async (t) => {
      if (!needPeer(t, '/usr/sbin/squid', ['-v']) || !needPeer(t, 'openssl', ['version'])) return;
      const origin = await serve(t, echo);
      const user = 'wire@kit';
      const pass = 'p@ss:w0rd';
      const squid = await startSquid(t, { auth: { user, pass } });
      const anonymous = new Session({ proxy: squid.url });
      t.after(() => anonymous.close());
      const err = await anonymous.get(`${origin.url}/`).catch((e: unknown) => e);
      assert.ok(err instanceof ProxyError && err.status === 407, String(err));
      const http = new Session({
        proxy: `http://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${squid.port}`,
      });
      t.after(() => http.close());
      const res = await http.get(`${origin.url}/in`);
      assert.equal(res.status, 200);
      await res.dump();
      await http.close(); // squid logs a transaction once its connection is done with it
      await squid.logged(new RegExp(`GET http://127\\.0\\.0\\.1:${origin.port}/in wire(@|%40)kit `));
    },
  );

  test(
    'per request: proxy false bypasses the session proxy; a proxy given on a session without one',
    T,
    async (t) => {
      if (!needPeer(t, '/usr/sbin/squid', ['-v'])) return;
      const origin = await serve(t, echo);
      const squid = await startSquid(t);
      const proxied = new Session({ proxy: squid.url });
      const direct = new Session();
      t.after(() => Promise.all([proxied.close(), direct.close()]));
      const bypass = (await (await proxied.get(`${origin.url}/`, { proxy: false })).json()) as Echo;
      assert.equal(bypass.headers.via, undefined);
      const viaNull = (await (await proxied.get(`${origin.url}/`, { proxy: null })).json()) as Echo;
      assert.equal(viaNull.headers.via, undefined);
      const through = (await (await direct.get(`${origin.url}/`, { proxy: squid.url })).json()) as Echo;
      assert.match(through.headers.via!, /squid/);
      const plain = (await (await direct.get(`${origin.url}/`)).json()) as Echo;
      assert.equal(plain.headers.via, undefined);
    },
  );

  test("proxy 'env': http_proxy (lower-case first, as curl) and NO_PROXY", T, async (t) => {
    if (!needPeer(t, '/usr/sbin/squid', ['-v'])) return;
    const origin = await serve(t, echo);
    const squid = await startSquid(t);
    const names = [
      'http_proxy',
      'HTTP_PROXY',
      'https_proxy',
      'HTTPS_PROXY',
      'no_proxy',
      'NO_PROXY',
      'all_proxy',
      'ALL_PROXY',
    ];
    const saved = new Map(names.map((n) => [n, process.env[n]]));
    t.after(() => {
      for (const [n, v] of saved) {
        if (v === undefined) delete process.env[n];
        else process.env[n] = v;
      }
    });
    for (const n of names) delete process.env[n];
    process.env.http_proxy = `127.0.0.1:${squid.port}`; // no scheme: http, as curl reads it
    process.env.HTTP_PROXY = `http://127.0.0.1:${await freePort()}`; // nobody there: must not be used
    const viaEnv = new Session({ proxy: 'env' });
    t.after(() => viaEnv.close());
    const body = (await (await viaEnv.get(`${origin.url}/env`)).json()) as Echo;
    assert.match(body.headers.via!, /squid/);

    process.env.NO_PROXY = `example.com, 127.0.0.1:${origin.port}`;
    const skipping = new Session({ proxy: 'env' });
    t.after(() => skipping.close());
    const direct = (await (await skipping.get(`${origin.url}/direct`)).json()) as Echo;
    assert.equal(direct.headers.via, undefined, 'NO_PROXY host:port goes direct');
  });

  test('socks5 through Dante (danted): http and https origins, with timings and keep-alive', T, async (t) => {
    if (!needPeer(t, '/usr/sbin/danted', ['-v'])) return;
    const origin = await serve(t, echo);
    const secure = await serveTls(t, echo);
    const { port } = await startDante(t);
    const http = new Session({ proxy: `socks5://127.0.0.1:${port}`, tls });
    t.after(() => http.close());
    const plain = await http.get(`${origin.url}/plain`);
    assert.equal(((await plain.json()) as Echo).url, '/plain');
    assert.equal(plain.timings.reused, false);
    assert.ok(plain.timings.connect > 0);
    const first = await http.get(`${secure.url}/secure`);
    assert.equal(((await first.json()) as Echo).url, '/secure');
    assert.equal(first.timings.reused, false);
    assert.ok(first.timings.connect > 0 && first.timings.tls > 0, JSON.stringify(first.timings));
    let reused = false;
    for (let i = 0; i < 3 && !reused; i++) {
      const res = await http.get(`${secure.url}/again`);
      await res.dump();
      reused = res.timings.reused;
    }
    assert.ok(reused, 'the connection through the SOCKS5 tunnel is kept alive');
  });

  test(
    'socks5 credentials are percent-decoded (SOCKS5 test double); wrong ones are a ProxyError; close() ends the tunnels',
    T,
    async (t) => {
      const origin = await serve(t, echo);
      let open = 0;
      origin.server.on('connection', (socket) => {
        open++;
        socket.on('close', () => open--);
      });
      const socks = await socks5Double(t, { user: 'wire@kit', pass: 'p@ss:w0rd' });
      const wrong = new Session({ proxy: `socks5://wirekit:nope-secret@127.0.0.1:${socks.port}` });
      t.after(() => wrong.close());
      const err = await wrong.get(`${origin.url}/`).catch((e: unknown) => e);
      assert.ok(err instanceof ProxyError, String(err));
      assert.equal(err.status, undefined);
      assert.equal(err.proxy, `127.0.0.1:${socks.port}`);
      assert.doesNotMatch(`${err.message} ${err.stack}`, /nope-secret/);

      const http = new Session({ proxy: `socks5://wire%40kit:p%40ss%3Aw0rd@127.0.0.1:${socks.port}` });
      const res = await http.get(`${origin.url}/in`);
      assert.equal(((await res.json()) as Echo).url, '/in');
      assert.deepEqual(socks.logins.at(-1), { user: 'wire@kit', pass: 'p@ss:w0rd' });
      assert.equal(open, 1);
      await http.close();
      for (let i = 0; i < 50 && open > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(open, 0, 'session.close() closed the connection through the proxy');
    },
  );

  test('an unreachable proxy is a ConnectError naming the proxy', T, async (t) => {
    const origin = await serve(t, echo);
    const port = await freePort();
    for (const proxy of [`http://u:secret@127.0.0.1:${port}`, `socks5://u:secret@127.0.0.1:${port}`]) {
      const http = new Session({ proxy });
      t.after(() => http.close());
      const err = await http.get(`${origin.url}/`).catch((e: unknown) => e);
      assert.ok(err instanceof ConnectError, String(err));
      assert.equal(err.port, port);
      assert.equal(err.systemCode, 'ECONNREFUSED');
      assert.doesNotMatch(err.message, /secret/);
    }
  });

  test('bad proxy options are a TypeError at construction', () => {
    assert.throws(() => new Session({ proxy: 'ftp://127.0.0.1:21' }), TypeError);
    assert.throws(() => new Session({ proxy: 'http://[bad' }), TypeError);
    assert.throws(() => new Session({ proxy: 'http://127.0.0.1:3128\r\nx: y' }), TypeError);
    assert.throws(() => new Session({ proxy: 'http://%zz:p@127.0.0.1:3128' }), TypeError);
    assert.throws(() => new Session({ proxy: 42 as unknown as string }), TypeError);
  });
});

describe('NO_PROXY rules', () => {
  const check = (value: string, url: string): boolean => proxied(noProxyRules(value), new URL(url));

  test('names match themselves and their subdomains, with or without a leading dot or *.', () => {
    assert.equal(check('example.com', 'http://example.com/'), false);
    assert.equal(check('example.com', 'http://api.example.com/'), false);
    assert.equal(check('.example.com', 'http://api.example.com/'), false);
    assert.equal(check('*.example.com', 'http://example.com/'), false);
    assert.equal(check('example.com', 'http://badexample.com/'), true);
    assert.equal(check('EXAMPLE.com', 'http://Example.COM./'), false);
  });

  test('ports, IP addresses, IPv6, * and empty values', () => {
    assert.equal(check('127.0.0.1:8080', 'http://127.0.0.1:8080/'), false);
    assert.equal(check('127.0.0.1:8080', 'http://127.0.0.1:9090/'), true);
    assert.equal(check('example.com:443', 'https://example.com/'), false);
    assert.equal(check('::1', 'http://[::1]:80/'), false);
    assert.equal(check('[::1]:8080', 'http://[::1]:8080/'), false);
    assert.equal(check('*', 'http://anything/'), false);
    assert.equal(check('', 'http://anything/'), true);
    assert.equal(check(' a.test ,, b.test ', 'http://b.test/'), false);
  });
});
