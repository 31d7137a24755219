/**
 * Child side: runs nginx as a reference target or as a client case's server. Fills a config
 * template's `__DIR__` (a temp dir) and `__PORT__` (a free port), runs nginx in the foreground
 * (master + one worker) and reports the worker's pid: that is the process the runner measures.
 * Stops nginx when the runner closes stdin; its stderr (error log) is passed through, so a
 * complaint fails the round. Imports nothing but child.ts, like every child.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { report } from './child.js';

/** A port nothing listens on right now: bind port 0, read it, let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `nginx` on the config at `template` (a path from the repository root) and reports
 * `listening` once its worker accepts connections. `prepare` may put files into the temp dir
 * first (nginx's worker may run as another user: the dir is world-readable).
 */
export async function runNginx(
  nginx: string,
  template: string,
  prepare?: (dir: string) => void,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wirekit-bench-nginx-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  prepare?.(dir);

  const port = await freePort();
  const config = readFileSync(template, 'utf8')
    .replaceAll('__DIR__', dir)
    .replaceAll('__PORT__', String(port));
  writeFileSync(join(dir, 'nginx.conf'), config);

  const master = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let stopping = false;
  master.once('error', (err) => {
    process.stderr.write(`could not start ${nginx}: ${err.message}\n`);
    process.exit(1);
  });
  master.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`nginx exited (${signal ?? `code ${code}`})\n`);
    process.exit(stopping ? 0 : 1);
  });

  // The runner closes stdin to say "done": a fast shutdown, then exit once nginx has.
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    master.kill('SIGTERM');
    setTimeout(() => master.kill('SIGKILL'), 5_000).unref();
  };
  process.stdin.on('end', stop).on('error', stop).resume();

  /** The worker's pid once the master has forked it, else null. */
  const workerPid = (): number | null => {
    const path = `/proc/${master.pid}/task/${master.pid}/children`;
    const children = readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : null;
  };

  const deadline = Date.now() + 10_000;
  let worker = workerPid();
  while (worker === null || !(await accepts(port))) {
    if (Date.now() > deadline) {
      process.stderr.write('nginx did not start its worker and accept connections within 10 s\n');
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    worker = workerPid();
  }
  report('listening', { port, pid: worker });
}
