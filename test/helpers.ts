/** Shared test helpers: peers that may be missing, fixtures, child processes. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from './net/tcp-helpers.js';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** The self-signed test certificate (localhost, 127.0.0.1, ::1) and its key. */
export const tlsFixture = {
  key: readFileSync(fixture('key.pem')),
  cert: readFileSync(fixture('cert.pem')),
};

/** True when `command` runs here. */
export function hasCommand(command: string, args = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.error === undefined;
}

/**
 * Skips the test when a peer program is missing, with a clear message; under CI=true a
 * missing peer fails instead, because .ci/run installs every peer.
 */
export function needPeer(t: TestContext, command: string, args?: string[]): boolean {
  if (hasCommand(command, args)) return true;
  const message = `${command} is not installed (apt-get install it, or run .ci/run)`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return false;
}

/**
 * Whether this machine has IPv6 loopback (::1). Under CI=true it is taken as present, so an
 * IPv6 test fails there rather than skipping.
 */
export const hasIpv6 = (() => {
  if (process.env.CI === 'true') return true;
  try {
    return readFileSync('/proc/net/if_inet6', 'utf8').includes('00000000000000000000000000000001');
  } catch {
    return false;
  }
})();

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A redis-server of the test's own on loopback (no persistence). */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => {});
  });
}

/** Starts redis-server on `port` (or a free one, retrying when another process takes it first). */
export async function startRedis(port?: number): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const p = port ?? (await freePort());
    const child: ChildProcess = spawn(
      'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.once('exit', () => {
        exited = true;
        resolve();
      }),
    );
    const stop = async (): Promise<void> => {
      if (!exited) child.kill('SIGKILL');
      await exit;
    };
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await answersPing(p)) return { port: p, url: `redis://127.0.0.1:${p}`, stop };
      await sleep(20);
    }
    await stop();
    if (attempt >= 3) throw new Error(`redis-server did not start on port ${p}`);
  }
}
