/**
 * The memory probe of the Node targets, started only for the memory case (`--memory`): a TCP
 * port on 127.0.0.1 where each line the load generator sends is answered with one JSON line,
 * `{"rss":N,"heapUsed":N}` in bytes, read after full garbage collections. gc is reached the
 * way `--expose-gc` would expose it, so the target keeps its plain `node script` command line.
 */
import * as net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function wantsMemoryProbe(): boolean {
  return process.argv.includes('--memory');
}

/** Starts the probe; resolves with its port. */
export async function startMemoryProbe(): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const server = net.createServer((socket) => {
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', async (text: string) => {
      pending += text;
      while (pending.includes('\n')) {
        pending = pending.slice(pending.indexOf('\n') + 1);
        // Twice, with a turn of the loop between: what the first frees may finalize more.
        gc();
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        const { rss, heapUsed } = process.memoryUsage();
        socket.write(`${JSON.stringify({ rss, heapUsed })}\n`);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return (server.address() as net.AddressInfo).port;
}
