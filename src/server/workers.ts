/**
 * @module wirekit/server/workers
 * Multi-core serving on node:cluster: the primary forks N workers that share one port, replaces
 * a worker that dies, and closes them all gracefully.
 */
import type { Cluster, Worker } from 'node:cluster';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { formatHostPort } from '../errors.js';
import type { AppServer } from './listen.js';

const require = createRequire(import.meta.url);

const LISTENING = 'wirekit:listening';
const SHUTDOWN = 'wirekit:shutdown';

/** `workers: 'auto'` is one per core. */
export function workerCount(workers: number | 'auto'): number {
  const count = workers === 'auto' ? availableParallelism() : workers;
  if (!Number.isInteger(count) || count < 1 || count > 1024) {
    throw new RangeError(`workers must be 'auto' or an integer from 1 to 1024, got ${String(workers)}`);
  }
  return count;
}

/** In a worker: tell the primary where we listen, and close gracefully when it says so. */
export function reportToPrimary(server: AppServer): void {
  process.send?.({ type: LISTENING, port: server.port, host: server.host, url: server.url });
  const shutdown = (timeout?: number) => void server.close({ timeout }).then(() => process.exit(0));
  process.on('message', (message: { type?: string; timeout?: number }) => {
    if (message?.type === SHUTDOWN) shutdown(message.timeout);
  });
  // The primary decides when workers stop; a Ctrl+C reaches every process of the group.
  process.on('SIGINT', () => undefined);
  // SIGTERM may come to every process at once (systemd's default KillMode, `kill -- -PGID`), or
  // to this worker alone: either way, in-flight requests finish before it exits. Alone, the
  // primary then replaces it, which makes a rolling restart.
  process.on('SIGTERM', () => shutdown());
}

/**
 * In the primary: forks `count` workers (each runs this same program, whose `listen` then
 * serves), resolves once all listen, and replaces any that dies until `close()`.
 */
export async function runPrimary(count: number, scheme: string): Promise<AppServer> {
  // node:cluster is loaded by the primary of a multi-worker server only.
  const cluster = require('node:cluster') as Cluster;
  let closing = false;
  let first: { port: number; host: string } | undefined;
  const listening = new Set<Worker>();
  let ready!: () => void;
  let failed!: (err: Error) => void;
  const allListening = new Promise<void>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: { type?: string; port?: number; host?: string }) => {
      if (message?.type !== LISTENING) return;
      first ??= { port: message.port as number, host: message.host as string };
      listening.add(worker);
      if (listening.size === count) ready();
    });
    worker.on('exit', (code) => {
      listening.delete(worker);
      if (closing) return;
      if (first === undefined) failed(new Error(`a worker exited with code ${code} before listening`));
      else fork();
    });
    return worker;
  };
  for (let i = 0; i < count; i++) fork();
  await allListening;
  const { port, host } = first as { port: number; host: string };
  let closed: Promise<void> | undefined;
  return {
    url: `${scheme}://${formatHostPort(host, port)}/`,
    port,
    host,
    server: undefined,
    close({ timeout = 10_000 } = {}) {
      closed ??= (async () => {
        closing = true;
        const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
        const exits = workers.map((w) => new Promise((resolve) => w.once('exit', resolve)));
        for (const w of workers) w.send({ type: SHUTDOWN, timeout });
        // A worker stuck past its own deadline is killed.
        const timer = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), timeout + 5_000);
        await Promise.all(exits);
        clearTimeout(timer);
      })();
      return closed;
    },
  };
}

/** Whether this process is a cluster worker. */
/**
 * Whether this process is a cluster worker. Asked only when `workers` is over 1, so node:cluster
 * is loaded only by multi-worker servers.
 */
export const isWorker = (): boolean => (require('node:cluster') as Cluster).isWorker;
