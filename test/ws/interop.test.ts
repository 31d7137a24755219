/**
 * Interop with WebSocket peers no one here wrote: python3-websockets as client and as server,
 * and python3-aiohttp's client. Debian's /usr/bin/python3 has them (a pyenv python3 on PATH
 * does not); missing, the tests skip, or fail under CI=true.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, type TestContext, test } from 'node:test';
import { App } from '../../src/server/index.js';
import { connectWebSocket } from '../../src/ws/index.js';
import { spawnPeer } from '../net/tcp-helpers.js';
import { serve, within } from './helpers.js';

const T = { timeout: 30_000 };
const PYTHON = '/usr/bin/python3';

function needPython(t: TestContext, module: string): boolean {
  const probe = spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 10_000 });
  if (probe.status === 0) return true;
  const message = `${PYTHON} cannot import ${module} (apt-get install python3-${module}, or run .ci/run)`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return false;
}

function echoServer(): App {
  return new App().ws('/echo', { protocols: ['echo.v1'] }, async (socket, ctx) => {
    await socket.send(`hello ${ctx.query.name ?? ''}`);
    for await (const message of socket) await socket.send(message);
  });
}

describe('python3-websockets', () => {
  test(
    'a websockets client talks to a wirekit server: text, binary, 256 KiB, subprotocol, clean close',
    T,
    async (t) => {
      if (!needPython(t, 'websockets')) return;
      const server = await serve(t, echoServer());
      const script = `
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], subprotocols=['echo.v1'], open_timeout=10) as ws:
        out = {'hello': await ws.recv(), 'protocol': ws.subprotocol}
        await ws.send('héllo')
        out['text'] = await ws.recv()
        await ws.send(bytes([0, 1, 2, 255]))
        out['binary'] = list(await ws.recv())
        big = 'x' * (256 * 1024)
        await ws.send(big)
        out['big'] = (await ws.recv()) == big
        await asyncio.wait_for(await ws.ping(), 5)
        out['rtt'] = True
        await ws.close(1000, 'done')
        out['close'] = ws.close_code
    print(json.dumps(out), flush=True)
asyncio.run(main())
`;
      const peer = spawnPeer(t, PYTHON, ['-c', script, `ws://127.0.0.1:${server.port}/echo?name=py`]);
      const out = JSON.parse(await peer.line(20_000)) as Record<string, unknown>;
      assert.deepEqual(out, {
        hello: 'hello py',
        protocol: 'echo.v1',
        text: 'héllo',
        binary: [0, 1, 2, 255],
        big: true,
        rtt: true,
        close: 1000,
      });
    },
  );

  test('a wirekit client talks to a websockets server: echo, ping, close codes', T, async (t) => {
    if (!needPython(t, 'websockets')) return;
    const script = `
import asyncio, sys, websockets
async def handler(ws, path=None):
    async for message in ws:
        if message == 'bye':
            await ws.close(4000, 'python says bye')
            return
        await ws.send(message)
async def main():
    async with websockets.serve(handler, '127.0.0.1', 0, subprotocols=['echo.v1']) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
`;
    const peer = spawnPeer(t, PYTHON, ['-c', script]);
    const port = Number(await peer.line(20_000));
    const socket = await connectWebSocket(`ws://127.0.0.1:${port}/`, { protocols: ['echo.v1'] });
    t.after(() => socket.terminate());
    assert.equal(socket.protocol, 'echo.v1');
    await socket.send('ünïcode');
    assert.equal((await socket.receive())?.text, 'ünïcode');
    await socket.send(Buffer.from([9, 8, 7]));
    const binary = await socket.receive();
    assert.deepEqual([binary?.type, [...(binary?.data ?? [])]], ['binary', [9, 8, 7]]);
    const big = Buffer.alloc(512 * 1024, 1);
    await socket.send(big);
    assert.equal((await socket.receive())?.data.length, big.length);
    assert.ok((await socket.ping()) >= 0);
    await socket.send('bye');
    const err = await socket.receive().catch((e: unknown) => e);
    assert.equal((err as { closeCode?: number }).closeCode, 4000);
    assert.deepEqual(await socket.closed, { code: 4000, reason: 'python says bye', wasClean: true });
    peer.child.stdin.end();
  });

  test('a wirekit server closing with 1001 on shutdown ends the websockets client cleanly', T, async (t) => {
    if (!needPython(t, 'websockets')) return;
    const app = new App().ws('/', async (socket) => {
      for await (const message of socket) await socket.send(message);
    });
    const server = await app.listen({ port: 0 });
    t.after(() => server.close({ timeout: 100 }));
    const script = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        await ws.send('x'); await ws.recv()
        print('ready', flush=True)
        try:
            await ws.recv()
        except websockets.ConnectionClosedOK as e:
            print('closed', e.rcvd.code, flush=True)
asyncio.run(main())
`;
    const peer = spawnPeer(t, PYTHON, ['-c', script, `ws://127.0.0.1:${server.port}/`]);
    assert.equal(await peer.line(20_000), 'ready');
    await within(server.close({ timeout: 5_000 }), 6_000, 'server.close()');
    assert.equal(await peer.line(), 'closed 1001');
  });
});

describe('python3-aiohttp', () => {
  test('an aiohttp client talks to a wirekit server: text, binary, close', T, async (t) => {
    if (!needPython(t, 'aiohttp')) return;
    const server = await serve(t, echoServer());
    const script = `
import aiohttp, asyncio, json, sys
async def main():
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(sys.argv[1], protocols=('echo.v1',), timeout=10) as ws:
            out = {'hello': (await ws.receive()).data, 'protocol': ws.protocol}
            await ws.send_str('from aiohttp')
            out['text'] = (await ws.receive()).data
            await ws.send_bytes(b'\\x00\\xff')
            out['binary'] = list((await ws.receive()).data)
            await ws.close()
            out['close'] = ws.close_code
    print(json.dumps(out), flush=True)
asyncio.run(main())
`;
    const peer = spawnPeer(t, PYTHON, ['-c', script, `http://127.0.0.1:${server.port}/echo?name=aio`]);
    const out = JSON.parse(await peer.line(20_000)) as Record<string, unknown>;
    assert.deepEqual(out, {
      hello: 'hello aio',
      protocol: 'echo.v1',
      text: 'from aiohttp',
      binary: [0, 255],
      close: 1000,
    });
  });
});
