/** Runs the built `wirekit` bin (npm test builds first) as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { root } from '../helpers.js';

export const bin = join(root, 'dist/cli/main.js');

export interface Result {
  code: number | null;
  stdout: string;
  /** stdout as raw bytes. */
  bytes: Buffer;
  stderr: string;
}

/** Runs `wirekit ...args` to completion, feeding `input` on stdin; kills it after `timeout` ms. */
export async function run(
  args: string[],
  options: { input?: string | Buffer; timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 15_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const bytes = Buffer.concat(chunks);
  return { code, stdout: bytes.toString('utf8'), bytes, stderr };
}

/**
 * A long-running `wirekit` command (a server): resolves with the child once its stdout matches
 * `pattern` (by default: once it printed a line), and the match.
 */
export async function start(
  args: string[],
  pattern = /^.*\n/,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wirekit ${args.join(' ')} printed no ${pattern} in 15 s: ${stdout} ${stderr}`));
    }, 15_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const found = pattern.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`wirekit ${args.join(' ')} exited early: ${stdout} ${stderr}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null) return child.exitCode;
    const closed = once(child, 'close');
    child.kill('SIGINT');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const [code] = (await closed) as [number | null];
    clearTimeout(kill);
    return code;
  };
  return { child, match, stop };
}

/** The port in a line like `wirekit echo: listening on tcp 127.0.0.1:40123`. */
export function portOf(line: string): number {
  const match = /:(\d+)\b(?!.*:\d)/.exec(line);
  if (!match) throw new Error(`no port in: ${line}`);
  return Number(match[1]);
}

/**
 * Runs python3 code (with `interpreter`, `python3` on PATH by default) with `args`, returning
 * stdout; rejects on a non-zero exit or after 10 s.
 */
export async function python(code: string, args: string[] = [], interpreter = 'python3'): Promise<string> {
  const child = spawn(interpreter, ['-c', code, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [exit] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  if (exit !== 0) throw new Error(`${interpreter} exited ${exit}: ${stderr}`);
  return stdout;
}
