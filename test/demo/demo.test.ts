/**
 * `wirekit demo` as a user runs it (the built CLI, as a child process): the page, /hello,
 * /api/history, a WebSocket user and a TCP user chatting, bad input of every kind, Ctrl+C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../cli/cli-helpers.js';
import { root } from '../helpers.js';
import { type Demo, eventually, startDemo, TcpUser, WsUser } from './helpers.js';

let demo: Demo;
const closers: Array<{ close(): unknown }> = [];
before(async () => {
  demo = await startDemo();
});
after(async () => {
  for (const closer of closers) closer.close();
  await demo?.stop();
});

async function ws(name?: string): Promise<WsUser> {
  const user = await WsUser.open(demo, { name });
  closers.push({ close: () => user.socket.terminate() });
  return user;
}

async function tcp(): Promise<TcpUser> {
  const user = await TcpUser.open(demo);
  closers.push(user);
  return user;
}

test('/hello answers Hello World! and / serves the chat page, its script and style, with a CSP', async () => {
  const hello = await fetch(`${demo.url}hello`);
  assert.equal(await hello.text(), 'Hello World!');
  const page = await fetch(demo.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await page.text();
  assert.match(html, /<script type="module" src="app\.js"><\/script>/);
  for (const [file, type] of [
    ['app.js', /javascript/],
    ['style.css', /^text\/css/],
  ] as const) {
    const res = await fetch(`${demo.url}${file}`);
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get('content-type') ?? '', type);
  }
  const js = await (await fetch(`${demo.url}app.js`)).text();
  assert.doesNotMatch(js, /innerHTML|insertAdjacentHTML|document\.write/, 'the page renders text only');
});

test('a WebSocket user and a TCP user chat: each sees the other, their messages, /who and renames', async () => {
  const page = await ws();
  await page.waitFor((m) => m.type === 'history', 'the history before joining');
  await page.waitFor((m) => m.type === 'who', 'who is online before joining');
  await page.send({ type: 'join', name: 'Ada' });
  const welcome = await page.waitFor((m) => m.type === 'welcome', 'the welcome');
  assert.equal(welcome.name, 'Ada');

  const term = await tcp();
  assert.equal(term.lines[0], 'Welcome to my server!');
  assert.match(term.lines.at(-1)!, /^\* \d+ online: .*\bAda\b/);
  const guest = term.name;
  await page.waitFor((m) => m.type === 'join' && m.name === guest, 'the TCP user joining');

  await page.send({ type: 'message', text: 'hello terminal <b>&amp;</b>' });
  await term.waitFor(/^\[Ada\] hello terminal <b>&amp;<\/b>$/);
  await term.say('hello page');
  await page.waitFor((m) => m.type === 'message' && m.text === 'hello page' && m.name === guest, 'the line');
  assert.ok(!term.lines.includes(`[${guest}] hello page`), 'a terminal is not sent back what it typed');

  await term.say('/who');
  await term.waitFor(new RegExp(`^\\* \\d+ online: .*\\bAda\\b.*`));
  await term.say('/nick Grace');
  await term.waitFor(new RegExp(`^\\* ${guest} is now known as Grace$`));
  await page.waitFor((m) => m.type === 'nick' && m.name === 'Grace' && m.previous === guest, 'the rename');
  await page.send({ type: 'who' });
  await page.waitFor(
    (m) => m.type === 'who' && m.users.some((u: { name: string }) => u.name === 'Grace'),
    'Grace in who',
  );
  await page.send({ type: 'nick', name: 'grace' });
  await page.waitFor((m) => m.type === 'error' && m.code === 'name-taken', 'name-taken');

  await term.say('/quit');
  await term.waitFor(/^\* bye$/);
  await term.waitEnded();
  await page.waitFor((m) => m.type === 'leave' && m.name === 'Grace', 'the leave');
});

test('/api/history serves the last messages as JSON, and a new tab gets them first', async () => {
  const writer = await ws('historian');
  await writer.send({ type: 'message', text: 'for the record' });
  await writer.waitFor((m) => m.type === 'message' && m.text === 'for the record', 'the message');
  const res = await fetch(`${demo.url}api/history`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const history = (await res.json()) as Array<{ type: string; name: string; text: string; at: number }>;
  assert.ok(history.length <= 100);
  assert.deepEqual(
    { ...history.at(-1)!, at: 0, id: '' },
    { type: 'message', id: '', name: 'historian', text: 'for the record', at: 0 },
  );
  const reader = await ws();
  const first = await reader.waitFor((m) => m.type === 'history', 'the history');
  assert.equal(first.messages.at(-1).text, 'for the record');
  assert.equal(reader.seen[0]!.type, 'history');
});

/** Sends `message` and asserts that the next error `user` gets has `code`. */
async function refused(user: WsUser, message: string | object, code: string): Promise<void> {
  const before = user.seen.length;
  await user.send(typeof message === 'string' ? message : JSON.stringify(message));
  const answer = await user.waitFor((m) => user.seen.indexOf(m) >= before && m.type === 'error', code);
  assert.equal(answer.code, code, JSON.stringify(message));
}

test('bad WebSocket input before joining gets an error and the socket stays: JSON, types, names', async () => {
  const user = await ws();
  await refused(user, '{not json', 'bad-message');
  await refused(user, '[1,2]', 'bad-message');
  await refused(user, 'null', 'bad-message');
  await refused(user, { type: 'message', text: 'before joining' }, 'not-joined');
  await refused(user, { type: 'join', name: '' }, 'bad-name');
  await refused(user, { type: 'join', name: 'x'.repeat(25) }, 'bad-name');
  await refused(user, { type: 'join', name: 'evil\u202ename' }, 'bad-name');
  await refused(user, { type: 'join', name: { toString: 1 } }, 'bad-name');
  assert.equal(user.closed, undefined);
});

test('bad WebSocket input after joining gets an error and the socket stays: text, types', async () => {
  const user = await ws('Mallory');
  await refused(user, { type: 'message', text: 'x'.repeat(2_001) }, 'too-long');
  await refused(user, { type: 'message', text: 'line one\n[Ada] fake line' }, 'bad-text');
  await refused(user, { type: 'message', text: '\u001b[2J' }, 'bad-text');
  await refused(user, { type: 'dance' }, 'bad-message');
  assert.equal(user.closed, undefined);
  await user.send({ type: 'message', text: 'still here' });
  await user.waitFor((m) => m.type === 'message' && m.text === 'still here', 'the message');
});

test('an oversized WebSocket message closes with 1009, a binary one with 1003, and the server goes on', async () => {
  const big = await ws('big');
  await big.send({ type: 'message', text: 'x'.repeat(20_000) });
  assert.equal((await big.waitClosed()).code, 1009);
  const binary = await ws();
  await binary.socket.send(Buffer.from('{"type":"who"}'));
  assert.equal((await binary.waitClosed()).code, 1003);
  assert.equal(await (await fetch(`${demo.url}hello`)).text(), 'Hello World!');
});

test('a WebSocket flood is told to slow down, then closed with 1008; a TCP flood is cut with a line', async () => {
  const flooder = await ws('flooder');
  const watcher = await ws('watcher');
  for (let i = 0; i < 60 && flooder.closed === undefined; i++) {
    await flooder.send({ type: 'message', text: `spam ${i}` }).catch(() => undefined);
  }
  await flooder.waitFor((m) => m.type === 'error' && m.code === 'too-fast', 'too-fast');
  assert.equal(flooder.seen.filter((m) => m.type === 'error' && m.code === 'too-fast').length, 1);
  assert.deepEqual((await flooder.waitClosed()).code, 1008);
  await watcher.waitFor((m) => m.type === 'leave' && m.name === 'flooder', 'the flooder leaving');
  const spam = watcher.messages().filter((m) => m.startsWith('[flooder] spam'));
  assert.ok(spam.length >= 9 && spam.length <= 12, `${spam.length} spam messages got through`);

  const term = await tcp();
  await term.stream.write(Array.from({ length: 60 }, (_, i) => `spam ${i}\n`).join(''));
  await term.waitFor(/^\* slow down$/);
  await term.waitFor(/^\* flooding, bye$/);
  await term.waitEnded();
});

test('TCP input that breaks the rules: a line over 8 KiB is cut, control characters and unknown commands answered', async () => {
  const term = await tcp();
  await term.say('bell\u0007 and \u001b[31mred');
  await term.waitFor(/^\* a message cannot hold control characters$/);
  await term.say('/nick bad\u202ename');
  await term.waitFor(/^\* a name cannot hold control characters/);
  await term.say('/frobnicate now');
  await term.waitFor(/^\* unknown command \/frobnicate \(try \/help\)$/);
  await term.say('/help');
  await term.waitFor(/^\* \/nick NAME renames you/);
  await term.say('x'.repeat(9_000));
  await term.waitFor(/^\* line too long, bye$/);
  await term.waitEnded();
  assert.equal(await (await fetch(`${demo.url}hello`)).text(), 'Hello World!');
});

test('Ctrl+C sends WebSocket users 1001 and TCP users a goodbye line, and exits 0', async () => {
  const own = await startDemo();
  const page = await WsUser.open(own, { name: 'leaving' });
  const term = await TcpUser.open(own);
  assert.equal(await own.stop(), 0);
  assert.equal((await page.waitClosed()).code, 1001);
  await term.waitFor(/^\* the server is shutting down, bye$/);
  await term.waitEnded();
});

test('--workers without --redis, or a --redis that is not a redis URL, is bad usage (exit 2)', async () => {
  const workers = await run(['demo', '--workers', '2', '--http-port', '0', '--tcp-port', '0']);
  assert.equal(workers.code, 2);
  assert.match(workers.stderr, /--workers needs --redis URL/);
  const redis = await run([
    'demo',
    '--redis',
    'http://127.0.0.1:6379',
    '--http-port',
    '0',
    '--tcp-port',
    '0',
  ]);
  assert.equal(redis.code, 2);
  assert.match(redis.stderr, /--redis must be a redis:\/\/ or rediss:\/\/ URL/);
});

test('examples/chat/main.ts runs the same chat from the sources and stops on SIGINT', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'examples/chat/main.ts')], {
    cwd: root,
    env: { ...process.env, PORT: '0', TCP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = once(child, 'close');
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  const [, url] = await eventually(
    () => /chat page on (\S+), terminals on/.exec(output) ?? undefined,
    'the line',
    15_000,
  );
  assert.equal(await (await fetch(`${url}hello`)).text(), 'Hello World!');
  child.kill('SIGINT');
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  assert.equal(code, 0);
});
