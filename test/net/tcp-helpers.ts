/** Helpers for the net tests: loopback socket pairs, bounded waits, peer processes. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { Stream, type StreamOptions } from '../../src/net/index.js';

/** A connected pair of plain node sockets on loopback: `[client end, server end]`. */
export async function socketPair(host = '127.0.0.1'): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const peer = await accepted;
  server.close();
  return [client, peer];
}

/**
 * A Stream over one end of a loopback pair and the raw node socket at the other end, which the
 * test drives by hand. Both are destroyed when the test ends.
 */
export async function streamAndPeer(
  t: TestContext,
  options?: StreamOptions,
  host = '127.0.0.1',
): Promise<{ stream: Stream; peer: net.Socket }> {
  const [client, peer] = await socketPair(host);
  // The tests provoke resets and EPIPEs on purpose; the peer's own errors are not under test.
  peer.on('error', () => {});
  const stream = new Stream(client, options);
  t.after(() => {
    stream.abort();
    peer.destroy();
  });
  return { stream, peer };
}

/** Settles like `promise`, or rejects with a clear message after `ms` (a hang is a failure). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** How `promise` stands after `ms`: 'resolved', 'rejected' or still 'pending'. */
export async function stateAfter(
  promise: Promise<unknown>,
  ms: number,
): Promise<'resolved' | 'rejected' | 'pending'> {
  const state = promise.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  return Promise.race([state, pending]).finally(() => clearTimeout(timer));
}

/** Reads from a raw socket until `n` bytes arrived (or it ended), with a bound. */
export function collect(socket: net.Socket, n = Number.POSITIVE_INFINITY, ms = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  const done = new Promise<Buffer>((resolve, reject) => {
    const finish = () => {
      socket.off('data', onData);
      resolve(Buffer.concat(parts, length));
    };
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      length += chunk.length;
      if (length >= n) finish();
    };
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
    socket.once('error', reject);
    socket.resume();
  });
  return within(done, ms, `collecting ${n} bytes`);
}

/** A loopback port that was free a moment ago (for peers that cannot report the one they bound). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A child process whose stdout the test reads line by line; killed when the test ends. */
export interface Peer {
  child: ChildProcessWithoutNullStreams;
  /** The next line on stdout (without its newline). */
  line(ms?: number): Promise<string>;
  /** Everything on stdout and the exit code, once the process exits. */
  exited(ms?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function spawnPeer(t: TestContext, command: string, args: string[]): Peer {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let consumed = 0;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.on('error', () => {});
  const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  exit.then(wake);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    line(ms = 10_000) {
      const next = async (): Promise<string> => {
        for (;;) {
          const end = stdout.indexOf('\n', consumed);
          if (end !== -1) {
            const line = stdout.slice(consumed, end);
            consumed = end + 1;
            return line;
          }
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`${command} exited (${child.exitCode}) before a line; stderr: ${stderr}`);
          }
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      };
      return within(next(), ms, `waiting for a line from ${command} (stderr: ${stderr})`);
    },
    async exited(ms = 10_000) {
      const code = await within(exit, ms, `waiting for ${command} to exit (stderr: ${stderr})`);
      return { code, stdout, stderr };
    },
  };
}

/**
 * A python3 listener whose accept queue is full and never drained, so that the next connect to
 * it stalls in SYN_SENT: a loopback-only way to make a connect time out. Kept open connections
 * are closed when the test ends.
 */
export async function stalledListener(t: TestContext): Promise<number> {
  const peer = spawnPeer(t, 'python3', [
    '-c',
    [
      'import socket, sys',
      's = socket.socket()',
      "s.bind(('127.0.0.1', 0))",
      's.listen(0)',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n'),
  ]);
  const port = Number(await peer.line());
  // Fill the queue: connect until one attempt gets no answer within a second.
  const held: net.Socket[] = [];
  t.after(() => {
    for (const socket of held) socket.destroy();
  });
  for (let i = 0; i < 64; i++) {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    held.push(socket);
    const connected = await stateAfter(
      new Promise<void>((resolve) => socket.once('connect', resolve)),
      1_000,
    );
    if (connected === 'pending') return port;
  }
  throw new Error('could not fill the accept queue of the python3 listener');
}
