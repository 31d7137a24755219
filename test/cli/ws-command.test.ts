/**
 * `wirekit ws`: the built CLI as a child, against wirekit app.ws() servers made here, a raw
 * server that never answers pings, and its own `--listen` echo server (with wirekit and
 * python3-websockets clients).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { after, describe, type TestContext, test } from 'node:test';
import { App, type Context, forbidden } from '../../src/server/index.js';
import { connectWebSocket, type WebSocket } from '../../src/ws/index.js';
import { fixture, sleep, tlsFixture } from '../helpers.js';
import { bin, python, run, start } from './cli-helpers.js';

const T = { timeout: 30_000 };
const PYTHON = '/usr/bin/python3';
const children = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** An app with one ws route on `path` (any origin), on port 0, closed when the test ends. */
async function serveWs(
  t: TestContext,
  handler: (socket: WebSocket, ctx: Context) => unknown,
  { path = '/ws', protocols = [] as string[], tls = false } = {},
): Promise<number> {
  const app = new App().ws(path, { origins: 'any', protocols }, handler);
  const server = await app.listen({ port: 0, ...(tls ? { tls: tlsFixture } : {}) });
  t.after(() => server.close({ timeout: 500 }));
  return server.port;
}

/** `wirekit ws ...` with stdin left open, for sessions a test ends by hand. */
function spawnWs(args: string[]) {
  const child = spawn(process.execPath, [bin, 'ws', ...args], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  const exited = once(child, 'close').then(([code]) => {
    children.delete(child);
    return code as number | null;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** Resolves with a value other code hands it later (a server handler's observation). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('wirekit ws URL', () => {
  test(
    'sends stdin lines as text messages in order, prints the echoes, closes 1000 at EOF, exits 0',
    T,
    async (t) => {
      const seen = deferred<{ messages: string[]; close: number }>();
      const port = await serveWs(t, async (socket) => {
        const messages: string[] = [];
        for await (const message of socket) {
          messages.push(`${message.type}:${message.text}`);
          await socket.send(message);
        }
        seen.resolve({ messages, close: (await socket.closed).code });
      });
      const { code, stdout, stderr } = await run(['ws', `ws://127.0.0.1:${port}/ws`, '--wait', '300'], {
        input: 'one\ntwo\r\n\nthree',
      });
      assert.equal(stderr, '');
      assert.equal(stdout, 'one\ntwo\n\nthree\n');
      assert.equal(code, 0);
      assert.deepEqual(await seen.promise, {
        messages: ['text:one', 'text:two', 'text:', 'text:three'],
        close: 1000,
      });
    },
  );

  test('accepts http:// URLs and the :PORT/path shorthand as ws://', T, async (t) => {
    const port = await serveWs(t, (socket, ctx) => socket.send(`${ctx.path}?${ctx.query.q}`));
    for (const url of [`http://127.0.0.1:${port}/ws?q=1`, `:${port}/ws?q=1`]) {
      const { code, stdout } = await run(['ws', url]);
      assert.equal(stdout, '/ws?1\n', url);
      assert.equal(code, 0, url);
    }
  });

  test('a server that closes with 1011 makes it print one line on stderr and exit 1', T, async (t) => {
    const port = await serveWs(t, async (socket) => {
      await socket.send('about to fail');
      await socket.close(1011, 'boom');
    });
    const { code, stdout, stderr } = await run(['ws', `ws://127.0.0.1:${port}/ws`]);
    assert.equal(stdout, 'about to fail\n');
    assert.equal(stderr, 'wirekit: closed with 1011 (boom)\n');
    assert.equal(code, 1);
  });

  test(
    'a server that closes with 1000 first ends the session with exit 0, stdin still open',
    T,
    async (t) => {
      const port = await serveWs(t, async (socket) => {
        await socket.send('bye');
      });
      const cli = spawnWs([`ws://127.0.0.1:${port}/ws`]);
      assert.equal(await cli.exited, 0);
      assert.equal(cli.stdout(), 'bye\n');
      assert.equal(cli.stderr(), '');
    },
  );

  test('a dropped connection exits 1 and says so', T, async (t) => {
    const port = await serveWs(t, async (socket) => {
      await socket.send('going');
      socket.terminate();
    });
    const { code, stdout, stderr } = await run(['ws', `ws://127.0.0.1:${port}/ws`]);
    assert.equal(stdout, 'going\n');
    assert.equal(stderr, 'wirekit: closed with 1006 (the connection dropped without a close frame)\n');
    assert.equal(code, 1);
  });

  test('a refused handshake exits 1 with the HTTP status (403, 404)', T, async (t) => {
    const app = new App().ws(
      '/private',
      () => {
        throw forbidden();
      },
      () => undefined,
    );
    const server = await app.listen({ port: 0 });
    t.after(() => server.close({ timeout: 500 }));
    const refused = await run(['ws', `ws://127.0.0.1:${server.port}/private`]);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.stderr,
      `wirekit: WebSocket handshake with ws://127.0.0.1:${server.port}/private failed: the server answered 403 Forbidden\n`,
    );
    const missing = await run(['ws', `ws://127.0.0.1:${server.port}/nowhere`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^wirekit: .* failed: the server answered 404 Not Found\n$/);
  });

  test('-H headers and --protocol offers reach the server', T, async (t) => {
    const port = await serveWs(
      t,
      (socket, ctx) =>
        socket.send(`${String(ctx.headers['x-token'])}|${String(ctx.headers.origin)}|${socket.protocol}`),
      { protocols: ['chat.v2'] },
    );
    const { code, stdout, stderr } = await run([
      'ws',
      `ws://127.0.0.1:${port}/ws`,
      '-H',
      'X-Token: abc=1',
      '--header',
      'Origin:https://app.example',
      '--protocol',
      'chat.v1',
      '--protocol',
      'chat.v2',
    ]);
    assert.equal(stderr, '');
    assert.equal(stdout, 'abc=1|https://app.example|chat.v2\n');
    assert.equal(code, 0);
  });

  test('--binary sends each line as a binary message, bytes unchanged', T, async (t) => {
    const seen = deferred<Array<[string, number[]]>>();
    const port = await serveWs(t, async (socket) => {
      const messages: Array<[string, number[]]> = [];
      for await (const message of socket) {
        messages.push([message.type, [...message.data]]);
        await socket.send(message);
      }
      seen.resolve(messages);
    });
    const input = Buffer.from([0xff, 0x00, 0x41, 0x0d, 0x0a, 0x42, 0x0a]);
    const { code, bytes } = await run(['ws', `ws://127.0.0.1:${port}/ws`, '--binary', '--wait', '300'], {
      input,
    });
    assert.equal(code, 0);
    assert.deepEqual(await seen.promise, [
      ['binary', [0xff, 0x00, 0x41, 0x0d]],
      ['binary', [0x42]],
    ]);
    assert.deepEqual([...bytes], [0xff, 0x00, 0x41, 0x0d, 0x0a, 0x42, 0x0a]);
  });

  test('--no-close keeps listening after stdin ends; --wait 0 closes at once', T, async (t) => {
    const port = await serveWs(t, async (socket) => {
      await sleep(400);
      await socket.send('late').catch(() => undefined);
    });
    const url = `ws://127.0.0.1:${port}/ws`;
    const kept = await run(['ws', url, '--no-close']);
    assert.equal(kept.stdout, 'late\n');
    assert.equal(kept.code, 0);
    const quick = await run(['ws', url, '--wait', '0']);
    assert.equal(quick.stdout, '');
    assert.equal(quick.code, 0);
  });

  test('Ctrl+C closes with 1000 and exits 0', T, async (t) => {
    const seen = deferred<number>();
    const port = await serveWs(t, async (socket) => {
      await socket.send('hi');
      for await (const message of socket) void message;
      seen.resolve((await socket.closed).code);
    });
    const cli = spawnWs([`ws://127.0.0.1:${port}/ws`]);
    while (cli.stdout() === '' && cli.child.exitCode === null) await sleep(20);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0);
    assert.equal(await seen.promise, 1000);
    assert.equal(cli.stdout(), 'hi\n');
  });

  test('--ping-interval pings; answered pings keep the session up', T, async (t) => {
    const port = await serveWs(t, async (socket) => {
      await sleep(600);
      await socket.send('still here');
    });
    const { code, stdout } = await run(['ws', `ws://127.0.0.1:${port}/ws`, '--ping-interval', '0.1']);
    assert.equal(stdout, 'still here\n');
    assert.equal(code, 0);
  });

  test('--ping-interval: a server that stops answering pings ends the session with exit 1', T, async (t) => {
    let pings = 0;
    const held: Socket[] = [];
    const silent = createServer((socket) => {
      held.push(socket);
      let buffer = Buffer.alloc(0);
      let upgraded = false;
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (!upgraded) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          const key = /sec-websocket-key: *(\S+)/i.exec(buffer.toString('latin1', 0, end))?.[1] ?? '';
          const accept = createHash('sha1')
            .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
            .digest('base64');
          socket.write(
            `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
          );
          upgraded = true;
          buffer = buffer.subarray(end + 4);
        }
        // Client frames are masked and, here, short (pings carry at most 125 bytes).
        while (buffer.length >= 6 && buffer.length >= 6 + ((buffer[1] as number) & 0x7f)) {
          if (((buffer[0] as number) & 0x0f) === 0x9) pings++;
          buffer = buffer.subarray(6 + ((buffer[1] as number) & 0x7f));
        }
      });
      socket.on('error', () => undefined);
    }).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      for (const socket of held) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const cli = spawnWs([`ws://127.0.0.1:${port}/`, '--ping-interval', '0.2']);
    assert.equal(await cli.exited, 1);
    assert.equal(cli.stderr(), 'wirekit: closed with 1006 (the peer stopped answering pings)\n');
    assert.ok(pings >= 1, `pings received: ${pings}`);
    assert.ok(Date.now() - started >= 300, 'ended before a ping went unanswered');
  });

  test(
    'wss: --ca trusts a self-signed certificate, --insecure skips the check, neither fails',
    T,
    async (t) => {
      const port = await serveWs(t, (socket) => socket.send('secure'), { tls: true });
      const trusted = await run(['ws', `wss://localhost:${port}/ws`, '--ca', fixture('cert.pem')]);
      assert.equal(trusted.stdout, 'secure\n');
      assert.equal(trusted.code, 0);
      const insecure = await run(['ws', `https://127.0.0.1:${port}/ws`, '--insecure']);
      assert.equal(insecure.stdout, 'secure\n');
      assert.equal(insecure.code, 0);
      const untrusted = await run(['ws', `wss://localhost:${port}/ws`]);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /^wirekit: .*(SELF_SIGNED|self-signed)/);
    },
  );

  test('bad usage exits 2 with one line on stderr', T, async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /a URL to connect to \(or --listen PORT\) is required/],
      [['ftp://example.org/'], /only ws, wss, http and https URLs are supported/],
      [['ws://['], /'ws:\/\/\[' is not a URL/],
      [[':1', '-H', 'no-separator'], /-H 'no-separator' is not a header: use Header:Value/],
      [[':1', '-H', 'field=value'], /is not a header: use Header:Value/],
      [[':1', '--protocol', 'a b'], /is not a subprotocol name/],
      [[':1', '--ping-interval', 'soon'], /--ping-interval must be a number of seconds/],
      [[':1', '--timeout', '1s'], /--timeout must be a whole number of milliseconds/],
      [[':1', '--ca', '/nonexistent/ca.pem'], /cannot read \/nonexistent\/ca\.pem/],
      [['--listen', '70000'], /--listen must be a port from 0 to 65535/],
      [[':1', '--listen', '0'], /either a URL or --listen PORT, not both/],
      [['--listen', '0', '--binary'], /are for the client, not --listen/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(['ws', ...args]);
      assert.equal(code, 2, `wirekit ws ${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.equal(stderr.split('\n').length, 2, stderr);
    }
  });
});

describe('wirekit ws --listen', () => {
  async function echoServer() {
    const server = await start(
      ['ws', '--listen', '0'],
      /^wirekit ws: listening on (ws:\/\/127\.0\.0\.1:\d+\/)\n/,
    );
    return { url: server.match[1] as string, stop: server.stop };
  }

  test(
    'echoes a wirekit client on any path, text as text and binary as binary; Ctrl+C sends 1001, exits 0',
    T,
    async () => {
      const server = await echoServer();
      try {
        const socket = await connectWebSocket(`${server.url}some/path?x=1`, {
          headers: { origin: 'https://elsewhere.example' },
        });
        await socket.send('héllo');
        await socket.send(Buffer.from([0, 1, 255]));
        const text = await socket.receive();
        const binary = await socket.receive();
        assert.deepEqual([text?.type, text?.text], ['text', 'héllo']);
        assert.deepEqual([binary?.type, [...(binary?.data ?? [])]], ['binary', [0, 1, 255]]);
        const root = await connectWebSocket(server.url);
        await root.send('at /');
        assert.equal((await root.receive())?.text, 'at /');
        await root.close();
        assert.equal(await server.stop(), 0);
        assert.equal((await socket.closed).code, 1001);
      } finally {
        await server.stop();
      }
    },
  );

  test('echoes the wirekit ws client', T, async () => {
    const server = await echoServer();
    try {
      const { code, stdout } = await run(['ws', server.url, '--wait', '300'], { input: 'a\nb\n' });
      assert.equal(stdout, 'a\nb\n');
      assert.equal(code, 0);
    } finally {
      await server.stop();
    }
  });

  test('echoes a python3-websockets client', T, async (t) => {
    const probe = spawnSync(PYTHON, ['-c', 'import websockets'], { stdio: 'ignore', timeout: 10_000 });
    if (probe.status !== 0) {
      const message = `${PYTHON} cannot import websockets (apt-get install python3-websockets, or run .ci/run)`;
      if (process.env.CI === 'true') throw new Error(message);
      t.skip(message);
      return;
    }
    const server = await echoServer();
    try {
      const script = `
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1] + 'py', open_timeout=5) as ws:
        await ws.send('héllo')
        text = await ws.recv()
        await ws.send(bytes([0, 1, 255]))
        binary = list(await ws.recv())
        await ws.close()
        print(json.dumps([text, binary, ws.close_code]))
asyncio.run(main())
`;
      const out = await python(script, [server.url], PYTHON);
      assert.deepEqual(JSON.parse(out), ['héllo', [0, 1, 255], 1000]);
    } finally {
      await server.stop();
    }
  });
});
