/**
 * Interop with python3's socket and ssl modules, as client and as server: peers no one here
 * wrote, with their own idea of half-close, resets and TLS.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { IncompleteReadError, LimitExceededError, SocketError } from '../../src/errors.js';
import { connect, listen, type Server, type Stream } from '../../src/net/index.js';
import { fixture, hasIpv6, needPeer, tlsFixture } from '../helpers.js';
import { spawnPeer, within } from '../net/tcp-helpers.js';

const T = { timeout: 30_000 };

/** Runs a python3 script (argv: the extra args); every socket it opens times out after 10 s. */
function python(t: TestContext, script: string, ...args: string[]) {
  return spawnPeer(t, 'python3', ['-c', `import socket\nsocket.setdefaulttimeout(10)\n${script}`, ...args]);
}

async function serve(t: TestContext, handler: Parameters<typeof listen>[1], options = {}): Promise<Server> {
  const server = await listen(options, handler);
  t.after(() => server.close({ timeout: 200 }));
  return server;
}

/**
 * Starts readExactly(1000) while the python3 peer has sent 100 bytes, tells the peer to reset
 * the connection, and checks the read rejects with SocketError ECONNRESET instead of hanging.
 */
async function assertResetMidReadExactly(
  conn: Stream,
  peer: { stdin: NodeJS.WritableStream },
): Promise<void> {
  const pending = conn.readExactly(1_000).catch((e: unknown) => e);
  await within(
    (async () => {
      while (conn.bufferedLength < 100) await new Promise((resolve) => setTimeout(resolve, 10));
    })(),
    5_000,
    'the first bytes',
  );
  peer.stdin.write('reset\n');
  const err = await within(pending, 5_000, 'readExactly');
  assert.ok(err instanceof SocketError, String(err));
  assert.equal(err.systemCode, 'ECONNRESET');
}

describe('python3 as the client', () => {
  test('a python3 client sends lines, half-closes, and reads every answer', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const server = await serve(t, async (conn) => {
      let count = 0;
      for await (const line of conn.lines()) {
        count++;
        await conn.write(`${line.toUpperCase()}\n`);
      }
      // The client shut its side down; ours is still open for the last word.
      await conn.write(`bye after ${count} lines\n`);
    });
    const peer = python(
      t,
      `
import sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'hello\\nw\\xc3\\xb6rld\\r\\nno newline')
s.shutdown(socket.SHUT_WR)
data = b''
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
`,
      String(server.address.port),
    );
    const { code, stdout, stderr } = await peer.exited();
    assert.equal(code, 0, stderr);
    assert.equal(stdout, 'HELLO\nWÖRLD\nNO NEWLINE\nbye after 3 lines\n');
  });

  test(
    'a python3 client over IPv6 ::1 sees the addresses the handler sees',
    {
      ...T,
      skip: !hasIpv6 && 'no IPv6 loopback',
    },
    async (t) => {
      if (!needPeer(t, 'python3')) return;
      const server = await serve(
        t,
        async (conn) => {
          await conn.write(`${conn.remote.address} ${conn.remote.port} ${conn.remote.family}\n`);
        },
        { host: '::1' },
      );
      const peer = python(
        t,
        `
import sys
s = socket.create_connection(('::1', int(sys.argv[1])))
print(s.getsockname()[1], s.makefile().readline().strip(), flush=True)
`,
        String(server.address.port),
      );
      const [localPort, address, port, family] = (await peer.line()).split(' ');
      assert.equal(address, '::1');
      assert.equal(port, localPort);
      assert.equal(family, 'IPv6');
    },
  );

  test('a python3 client sending a line past the limit gets an answer, not a hang', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const failures: unknown[] = [];
    const server = await serve(t, async (conn) => {
      try {
        await conn.readLine();
      } catch (err) {
        failures.push(err);
        await conn.write('line too long\n');
        // Drain what the client still sends, so that closing does not reset the connection.
        await conn.readAll();
      }
    });
    const peer = python(
      t,
      `
import sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'x' * 200000)
s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip(), flush=True)
`,
      String(server.address.port),
    );
    assert.equal(await peer.line(), 'line too long');
    assert.equal(failures.length, 1);
    assert.ok(failures[0] instanceof LimitExceededError);
  });

  test('a python3 client that resets the connection fails the handler read with ECONNRESET', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    let handled!: (failure: unknown) => void;
    const failed = new Promise<unknown>((resolve) => {
      handled = resolve;
    });
    const server = await serve(t, async (conn) => {
      handled(await conn.readExactly(1_000).catch((e: unknown) => e));
    });
    const peer = python(
      t,
      `
import struct, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'p' * 100)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
`,
      String(server.address.port),
    );
    const failure = await within(failed, 10_000, 'handler');
    assert.ok(failure instanceof SocketError, String(failure));
    assert.equal(failure.systemCode, 'ECONNRESET');
    assert.equal((await peer.exited()).code, 0);
  });
});

describe('python3 as the server', () => {
  const echoOnce = `
import hashlib, sys
family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
srv = socket.socket(family)
srv.bind((sys.argv[1], 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
c.sendall(b'hello from python\\n')
f = c.makefile('rb')
first = f.read(5)
rest = f.read()  # until our peer half-closes
c.sendall(('%s %d %s\\n' % (first.decode(), len(rest), hashlib.sha256(rest).hexdigest())).encode())
c.close()
`;

  async function talk(t: TestContext, host: string) {
    const peer = python(t, echoOnce, host);
    const port = Number(await peer.line());
    const conn = await connect(host, port, { timeout: 5_000 });
    t.after(() => conn.abort());
    assert.equal(await within(conn.readLine(), 5_000, 'banner'), 'hello from python');
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    await conn.write('fives');
    await conn.write(body);
    await conn.end();
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256').update(body).digest('hex');
    assert.equal(await within(conn.readLine(), 10_000, 'answer'), `fives ${body.length} ${digest}`);
    assert.equal(await within(conn.readLine(), 5_000, 'EOF'), null);
    assert.equal((await peer.exited()).code, 0);
  }

  test('connect to a python3 server: banner, bytes, half-close, and the answer after it', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    await talk(t, '127.0.0.1');
  });

  test(
    'connect to a python3 server over IPv6 ::1',
    {
      ...T,
      skip: !hasIpv6 && 'no IPv6 loopback',
    },
    async (t) => {
      if (!needPeer(t, 'python3')) return;
      await talk(t, '::1');
    },
  );

  test(
    'a python3 server that resets mid-readExactly rejects it with SocketError ECONNRESET',
    T,
    async (t) => {
      if (!needPeer(t, 'python3')) return;
      const peer = python(
        t,
        `
import struct, sys
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
c.sendall(b'r' * 100)
sys.stdin.readline()
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
`,
      );
      const conn = await connect('127.0.0.1', Number(await peer.line()));
      t.after(() => conn.abort());
      await assertResetMidReadExactly(conn, peer.child);
    },
  );

  test('a python3 server that closes early fails readExactly with IncompleteReadError', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const peer = python(
      t,
      `
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
c.sendall(b'short')
c.close()
`,
    );
    const conn = await connect('127.0.0.1', Number(await peer.line()));
    t.after(() => conn.abort());
    const err = await within(conn.readExactly(10), 5_000, 'readExactly').catch((e: unknown) => e);
    assert.ok(err instanceof IncompleteReadError, String(err));
    assert.equal(err.partial.toString(), 'short');
    assert.equal(err.expected, 10);
  });
});

describe('python3 ssl', () => {
  test('connect({ tls }) to a python3 ssl server verifies it with the fixture CA', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const peer = python(
      t,
      `
import ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
s = ctx.wrap_socket(c, server_side=True)
line = s.makefile('rb').readline()
s.sendall(b'python got ' + line)
s.close()
`,
      fixture('cert.pem'),
      fixture('key.pem'),
    );
    const port = Number(await peer.line());
    const conn = await connect('localhost', port, { tls: { ca: tlsFixture.cert }, timeout: 5_000 });
    t.after(() => conn.abort());
    assert.equal(conn.encrypted, true);
    await conn.write('over tls\n');
    assert.equal(await within(conn.readLine(), 5_000, 'answer'), 'python got over tls');
  });

  test(
    'a python3 ssl server that resets mid-readExactly rejects it with SocketError ECONNRESET',
    T,
    async (t) => {
      if (!needPeer(t, 'python3')) return;
      const peer = python(
        t,
        `
import ssl, struct, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
s = ctx.wrap_socket(c, server_side=True)
s.sendall(b'r' * 100)
sys.stdin.readline()
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
`,
        fixture('cert.pem'),
        fixture('key.pem'),
      );
      const conn = await connect('localhost', Number(await peer.line()), { tls: { ca: tlsFixture.cert } });
      t.after(() => conn.abort());
      await assertResetMidReadExactly(conn, peer.child);
    },
  );

  test('a python3 ssl client verifies listen({ tls }) and talks to it', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const server = await serve(
      t,
      async (conn) => {
        await conn.write(`tls=${conn.encrypted} ${await conn.readLine()}\n`);
      },
      { tls: { key: tlsFixture.key, cert: tlsFixture.cert } },
    );
    const peer = python(
      t,
      `
import ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))), server_hostname='localhost')
s.sendall(b'from python\\n')
print(s.makefile().readline().strip(), flush=True)
`,
      String(server.address.port),
      fixture('cert.pem'),
    );
    assert.equal(await peer.line(), 'tls=true from python');
  });

  test('startTls as server upgrades a python3 client that wraps its socket after STARTTLS', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const server = await serve(t, async (conn) => {
      assert.equal(await conn.readLine(), 'STARTTLS');
      await conn.write('GO\n');
      await conn.startTls({ server: true, key: tlsFixture.key, cert: tlsFixture.cert, timeout: 5_000 });
      await conn.write(`secure ${await conn.readLine()}\n`);
    });
    const peer = python(
      t,
      `
import ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
raw.sendall(b'STARTTLS\\n')
go = b''
while not go.endswith(b'\\n'):
    go += raw.recv(1)
s = ctx.wrap_socket(raw, server_hostname='localhost')
s.sendall(b'hi\\n')
print(go.decode().strip(), s.makefile().readline().strip(), flush=True)
`,
      String(server.address.port),
      fixture('cert.pem'),
    );
    assert.equal(await peer.line(), 'GO secure hi');
  });

  test('startTls as client upgrades against a python3 server that wraps after STARTTLS', T, async (t) => {
    if (!needPeer(t, 'python3')) return;
    const peer = python(
      t,
      `
import ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.socket()
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
c, _ = srv.accept()
cmd = b''
while not cmd.endswith(b'\\n'):
    cmd += c.recv(1)
c.sendall(b'220 go ahead\\n')
s = ctx.wrap_socket(c, server_side=True)
s.sendall(b'encrypted ' + s.makefile('rb').readline())
s.close()
`,
      fixture('cert.pem'),
      fixture('key.pem'),
    );
    const conn = await connect('127.0.0.1', Number(await peer.line()));
    t.after(() => conn.abort());
    await conn.write('STARTTLS\n');
    assert.equal(await within(conn.readLine(), 5_000, 'go ahead'), '220 go ahead');
    await within(conn.startTls({ ca: tlsFixture.cert, servername: 'localhost' }), 5_000, 'startTls');
    await conn.write('payload\n');
    assert.equal(await within(conn.readLine(), 5_000, 'answer'), 'encrypted payload');
  });
});
