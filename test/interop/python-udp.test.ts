/** wirekit's UDP against python3's socket module, in both directions. */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { bindUdp } from '../../src/net/index.js';
import { hasIpv6, needPeer } from '../helpers.js';

const T = { timeout: 20_000 };

/** Sends one datagram to argv[1]:argv[2], prints the echo and who sent it. */
const PYTHON_CLIENT = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b'hello from python', (host, port))
data, peer = s.recvfrom(65535)
print(data.decode(), peer[1])
`;

/** Binds argv[1] on a free port, prints the port, echoes datagrams until b'quit' or 10 s idle. */
const PYTHON_ECHO_SERVER = `
import socket, sys
host = sys.argv[1]
family = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((host, 0))
s.settimeout(10)
print(s.getsockname()[1], flush=True)
while True:
    data, peer = s.recvfrom(65535)
    if data == b'quit':
        break
    s.sendto(b'echo: ' + data, peer)
`;

interface Python {
  child: ChildProcessWithoutNullStreams;
  /** The first line it prints. */
  firstLine: Promise<string>;
  /** Everything it printed, once it exited with 0; rejects with its stderr otherwise. */
  exited: Promise<string>;
}

function python(script: string, args: string[]): Python {
  const child = spawn('python3', ['-c', script, ...args], { timeout: 15_000 });
  let out = '';
  let err = '';
  let gotLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => (gotLine = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
    const newline = out.indexOf('\n');
    if (newline !== -1) gotLine(out.slice(0, newline));
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk));
  const exited = once(child, 'close').then(([code]) => {
    if (code !== 0) throw new Error(`python3 exited with ${code}: ${err}`);
    return out;
  });
  return { child, firstLine: Promise.race([firstLine, exited.then(() => '')]), exited };
}

for (const host of ['127.0.0.1', '::1']) {
  describe(`UDP interop with python3 on ${host}`, () => {
    test('a python3 client gets its datagram echoed by a bindUdp socket', T, async (t) => {
      if (!needPeer(t, 'python3')) return;
      if (host === '::1' && !hasIpv6) return t.skip('this machine has no IPv6 loopback');
      await using server = await bindUdp({ host });
      const echoing = (async () => {
        for await (const { data, address, port } of server) await server.send(data, port, address);
      })();
      const out = await python(PYTHON_CLIENT, [host, String(server.address.port)]).exited;
      assert.equal(out.trim(), `hello from python ${server.address.port}`);
      await server.close();
      await echoing;
    });

    test('bindUdp sends to a python3 echo server and receives the answer', T, async (t) => {
      if (!needPeer(t, 'python3')) return;
      if (host === '::1' && !hasIpv6) return t.skip('this machine has no IPv6 loopback');
      const { child, firstLine, exited } = python(PYTHON_ECHO_SERVER, [host]);
      try {
        const port = Number(await firstLine);
        assert.ok(port > 0, 'python printed its port');
        await using client = await bindUdp({ host });
        await client.send('hello from wirekit', port, host);
        let timer: NodeJS.Timeout | undefined;
        const reply = await Promise.race([
          client.receive(),
          new Promise<null>((resolve) => {
            timer = setTimeout(() => resolve(null), 5_000);
          }),
        ]).finally(() => clearTimeout(timer));
        assert.ok(reply, 'no echo from python3 within 5 s');
        assert.equal(reply.data.toString(), 'echo: hello from wirekit');
        assert.equal(reply.port, port);
        assert.equal(reply.address, host);
        await client.send('quit', port, host);
        await exited;
      } finally {
        child.kill();
        await exited.catch(() => {});
      }
    });
  });
}
