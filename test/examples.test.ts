/**
 * Every example runs as the README says (`npx tsx examples/NAME.ts`: node with tsx's loader,
 * started here without the tsx wrapper process so a killed example leaves no orphan behind).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect } from '../src/net/index.js';
import { root } from './helpers.js';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

interface Run {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function example(name: string, args: string[] = [], input?: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples', name), ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  if (input === undefined) child.stdin!.end();
  else child.stdin!.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = once(child, 'close').then(([code]) => {
    clearTimeout(timer);
    return code as number | null;
  });
  const waitFor = async (pattern: RegExp) => {
    for (;;) {
      const match = pattern.exec(output);
      if (match) return match;
      if (child.exitCode !== null) throw new Error(`${name} exited without ${pattern}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, output: () => output, waitFor, exited };
}

test('echo-server.ts echoes what a client sends and stops on SIGINT', async () => {
  const server = example('echo-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const conn = await connect('127.0.0.1', Number(port));
  await conn.write('hello echo\n');
  assert.equal(await conn.readLine(), 'hello echo');
  await conn.end();
  assert.equal((await conn.read()).length, 0);
  conn.close();
  await server.waitFor(/Closed by 127\.0\.0\.1/);
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});

test('welcome-client.ts prints the welcome of welcome-server.ts', async () => {
  const server = example('welcome-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const client = example('welcome-client.ts', ['127.0.0.1', port!]);
  assert.equal(await client.exited, 0);
  assert.equal(client.output(), 'Welcome to my server!\n');
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});

test('telnet-client.ts connects from the source address, sends typed lines and prints replies', async () => {
  const server = example('welcome-server.ts', ['0']);
  const [, port] = await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const client = example('telnet-client.ts', ['127.0.0.1', port!, '127.0.0.1'], 'hello\nworld\n');
  assert.equal(await client.exited, 0);
  const output = client.output();
  assert.match(output, new RegExp(`^connected from 127\\.0\\.0\\.1:\\d+ to 127\\.0\\.0\\.1:${port}\\n`));
  assert.match(output, /Welcome to my server!\n/);
  assert.match(output, /hello\n[\s\S]*world\n/);
  server.child.kill('SIGINT');
  await server.exited;
});

test('udp-echo.ts gets its datagram echoed', async () => {
  const run = example('udp-echo.ts', ['ping over udp']);
  assert.equal(await run.exited, 0);
  assert.match(
    run.output(),
    /^udp echo server on 127\.0\.0\.1:(\d+)\necho from 127\.0\.0\.1:\1: ping over udp\n$/,
  );
});

test('hello.ts answers GET / with Hello World! like the seed Flask app', async () => {
  const server = example('hello.ts', [], undefined, { PORT: '0' });
  const [, url] = await server.waitFor(/Running on (http:\/\/127\.0\.0\.1:\d+\/)/);
  const res = await fetch(url!);
  assert.equal(await res.text(), 'Hello World!');
  server.child.kill('SIGINT');
  assert.equal(await server.exited, 0);
});
