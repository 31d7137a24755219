import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { listen } from '../../src/net/index.js';
import { fixture, needPeer, root, tlsFixture } from '../helpers.js';
import { portOf, python, run, start } from './cli-helpers.js';

const { version } = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { version: string };
const stops: Array<() => Promise<unknown>> = [];
after(() => Promise.all(stops.map((stop) => stop())));

async function echoServer(...args: string[]): Promise<number> {
  const server = await start(['echo', '--port', '0', ...args]);
  stops.push(server.stop);
  assert.match(server.match[0], /^wirekit echo: listening on (tcp|udp) 127\.0\.0\.1:\d+\n$/);
  return portOf(server.match[0]);
}

test('--version prints the package version and exits 0', async () => {
  const { code, stdout } = await run(['--version']);
  assert.equal(code, 0);
  assert.equal(stdout.trim(), version);
});

test('--help lists the commands', async () => {
  const { code, stdout } = await run(['--help']);
  assert.equal(code, 0);
  for (const command of ['demo', 'echo', 'connect', 'resolve', 'sockets'])
    assert.match(stdout, new RegExp(`\\b${command}\\b`));
});

test('an unknown option or command exits 2 with a message on stderr', async () => {
  for (const args of [['echo', '--nope'], ['nope'], ['connect', '127.0.0.1']]) {
    const { code, stderr } = await run(args);
    assert.equal(code, 2, `wirekit ${args.join(' ')}`);
    assert.match(stderr, /^wirekit: \S.* \(run with --help for usage\)\n$/, stderr);
  }
});

test('a port that does not parse exits 2', async () => {
  const { code, stderr } = await run(['connect', '127.0.0.1', '70000']);
  assert.equal(code, 2);
  assert.equal(stderr, "wirekit: PORT must be a port from 0 to 65535, got '70000'\n");
});

test('echo sends the banner to a python3 socket client and echoes its lines', async (t) => {
  if (!needPeer(t, 'python3')) return;
  const port = await echoServer('--banner', 'Welcome to my server!');
  const script = `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
f = s.makefile('rb')
print(f.readline().decode().rstrip())
for word in ['ping', 'pong']:
    s.sendall((word + '\\n').encode())
    print(f.readline().decode().rstrip())
s.shutdown(socket.SHUT_WR)
print(repr(f.read()))
`;
  assert.equal(await python(script, [String(port)]), "Welcome to my server!\nping\npong\nb''\n");
});

test('connect pipes stdin to the server, prints the banner and the echo, and exits 0', async () => {
  const port = await echoServer('--banner', 'Welcome to my server!');
  const { code, stdout, stderr } = await run(['connect', '127.0.0.1', String(port)], { input: 'ping\n' });
  assert.equal(stderr, '');
  assert.equal(stdout, 'Welcome to my server!\nping\n');
  assert.equal(code, 0);
});

test('connect carries binary bytes unchanged both ways', async () => {
  const port = await echoServer();
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
  const child = await run(['connect', '127.0.0.1', String(port)], { input: bytes });
  assert.equal(child.code, 0);
  assert.ok(child.bytes.equals(bytes), `got ${child.bytes.length} bytes back of ${bytes.length}`);
});

test('connect exits 0 when the server closes first, even with stdin still open', async () => {
  const server = await listen({}, async (conn) => {
    await conn.write('bye\n');
  });
  stops.push(() => server.close());
  const { child, match, stop } = await start(['connect', '127.0.0.1', String(server.address.port)], /bye\n/);
  assert.equal(match[0], 'bye\n');
  const code = child.exitCode ?? (await new Promise((resolve) => child.once('close', resolve)));
  assert.equal(code, 0);
  await stop();
});

test('connect to a refused port prints one line on stderr and exits 1', async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const { code, stdout, stderr } = await run(['connect', '127.0.0.1', String(port)]);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr, `wirekit: connect to 127.0.0.1:${port} failed: ECONNREFUSED\n`);
});

test('connect --tls to a server that never answers the handshake times out in the tls phase', async () => {
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket)).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
  stops.push(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  const port = (silent.address() as { port: number }).port;
  const { code, stderr } = await run(['connect', '127.0.0.1', String(port), '--tls', '--timeout', '300']);
  assert.equal(code, 1);
  assert.match(stderr, /^wirekit: .*timed out after 300 ms \(during tls\)\n$/);
  assert.equal(stderr.split('\n').length, 2);
});

test('connect --tls --ca talks to a TLS server and verifies it', async () => {
  const server = await listen({ tls: tlsFixture }, async (conn) => {
    await conn.write(`tls ${conn.encrypted}\n`);
    for await (const line of conn.lines()) await conn.write(`${line.toUpperCase()}\n`);
  });
  stops.push(() => server.close());
  const port = String(server.address.port);
  const ok = await run(['connect', 'localhost', port, '--tls', '--ca', fixture('cert.pem')], {
    input: 'hi\n',
  });
  assert.equal(ok.stdout, 'tls true\nHI\n');
  assert.equal(ok.code, 0);
  const untrusted = await run(['connect', 'localhost', port, '--tls']);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stderr, /failed: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/);
  const insecure = await run(['connect', '127.0.0.1', port, '--tls', '--insecure'], { input: 'x\n' });
  assert.equal(insecure.stdout, 'tls true\nX\n');
});

test('connect --source binds the given source address and port', async () => {
  const server = await listen({}, async (conn) => {
    await conn.write(`${conn.remote.address}:${conn.remote.port}\n`);
  });
  stops.push(() => server.close());
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const sourcePort = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const { code, stdout } = await run([
    'connect',
    '127.0.0.1',
    String(server.address.port),
    '--source',
    `127.0.0.1:${sourcePort}`,
  ]);
  assert.equal(code, 0);
  assert.equal(stdout, `127.0.0.1:${sourcePort}\n`);
});

test('connect --source rejects what is not an address with exit 2', async () => {
  const { code, stderr } = await run(['connect', '127.0.0.1', '9', '--source', 'not-an-ip']);
  assert.equal(code, 2);
  assert.match(stderr, /--source must be an IP address/);
});

test('echo --udp echoes a python3 datagram', async (t) => {
  if (!needPeer(t, 'python3')) return;
  const port = await echoServer('--udp');
  const script = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'hello udp', ('127.0.0.1', int(sys.argv[1])))
data, addr = s.recvfrom(2048)
print(data.decode(), addr[1] == int(sys.argv[1]))
`;
  assert.equal(await python(script, [String(port)]), 'hello udp True\n');
});

test('connect --udp sends each stdin line as a datagram and prints the replies', async () => {
  const port = await echoServer('--udp');
  const { code, stdout } = await run(['connect', '127.0.0.1', String(port), '--udp', '--wait', '500'], {
    input: 'one\ntwo\n',
  });
  assert.equal(code, 0);
  assert.equal(stdout, 'one\ntwo\n');
});

test('sockets --state LISTEN --port lists the listening socket', async () => {
  const port = await echoServer();
  const { code, stdout } = await run(['sockets', '--state', 'LISTEN', '--port', String(port)]);
  assert.equal(code, 0);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^STATE\s+LOCAL\s+PEER\s+UID\s+INODE$/);
  assert.equal(lines.length, 2);
  assert.match(
    lines[1]!,
    new RegExp(`^LISTEN\\s+127\\.0\\.0\\.1:${port}\\s+0\\.0\\.0\\.0:\\*\\s+\\d+\\s+\\d+$`),
  );
  const json = await run(['sockets', '--state', 'listen', '--port', String(port), '--json']);
  const list = JSON.parse(json.stdout) as Array<{ state: string; local: { port: number } }>;
  assert.deepEqual(
    list.map((s) => [s.state, s.local.port]),
    [['LISTEN', port]],
  );
});

test('sockets --state with an unknown state exits 2', async () => {
  const { code, stderr } = await run(['sockets', '--state', 'SLEEPING']);
  assert.equal(code, 2);
  assert.match(stderr, /--state must be one of LISTEN|--state must be one of/);
});

test('resolve localhost prints 127.0.0.1', async () => {
  const { code, stdout } = await run(['resolve', 'localhost']);
  assert.equal(code, 0);
  assert.ok(stdout.split('\n').includes('127.0.0.1'), stdout);
  const v4 = await run(['resolve', 'localhost', '-4', '--json']);
  assert.deepEqual(JSON.parse(v4.stdout), [{ address: '127.0.0.1', family: 4 }]);
});

test('resolve -x 127.0.0.1 prints localhost', async () => {
  const { code, stdout } = await run(['resolve', '-x', '127.0.0.1']);
  assert.equal(code, 0);
  assert.equal(stdout, 'localhost\n');
});

test('resolve of a name that does not exist exits 1 with one line', async () => {
  const { code, stderr } = await run(['resolve', 'nonexistent.invalid']);
  assert.equal(code, 1);
  assert.match(stderr, /^wirekit: cannot resolve nonexistent\.invalid: (ENOTFOUND|EAI_AGAIN)\n$/);
});

test('demo serves the chat room: Hello World at /hello, and a TCP user gets the welcome and the room', async () => {
  const demo = await start(
    ['demo', '--tcp-port', '0', '--http-port', '0'],
    /npx wirekit connect 127\.0\.0\.1 (\d+)\n\s+curl (http:\/\/127\.0\.0\.1:\d+\/hello)/,
  );
  stops.push(demo.stop);
  const port = demo.match[1]!;
  const hello = await fetch(demo.match[2]!);
  assert.equal(await hello.text(), 'Hello World!');
  const { code, stdout } = await run(['connect', '127.0.0.1', port], { input: 'hello demo\n/quit\n' });
  assert.equal(code, 0);
  assert.match(
    stdout,
    /^Welcome to my server!\n\* you are guest-\d{4}\. .*\n\* 1 online: guest-\d{4}\n\* bye\n$/,
  );
  assert.equal(await demo.stop(), 0);
});
