/** Helpers for the client tests: loopback node:http servers on port 0, python peers. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { fixture } from '../helpers.js';

export const T = { timeout: 20_000 };

/** A node:http server on 127.0.0.1 port 0, closed (connections too) after the test. */
export async function serve(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

/** The request body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/**
 * A python3 that can import `module`: the one on PATH, else Debian's /usr/bin/python3 (where
 * python3-aiohttp installs). Skips the test when none can; under CI=true that fails instead.
 */
export function needPython(t: TestContext, module: string): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const result = spawnSync(candidate, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 10_000 });
    if (result.error === undefined && result.status === 0) return candidate;
  }
  const message = `python3 with ${module} is not installed (apt-get install python3-${module}, or run .ci/run)`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return undefined;
}

/**
 * Starts `<interpreter> test/fixtures/client/<script>` (which prints its port on the first line of
 * stdout) and kills it after the test.
 */
export async function python(
  t: TestContext,
  interpreter: string,
  script: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(interpreter, [fixture(`client/${script}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    child.kill();
  });
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill(), 10_000);
  try {
    for await (const line of lines) {
      if (/^\d+$/.test(line.trim())) return { url: `http://127.0.0.1:${line.trim()}`, child };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`${script} did not report its port`);
}
