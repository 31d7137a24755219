/**
 * The demo across processes, through a redis-server started here: two `wirekit demo --redis`
 * processes share one room (messages, presence, leaves), and `--workers 2` serves it from two.
 */
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import { needPeer } from '../helpers.js';
import {
  type Demo,
  eventually,
  type RedisServer,
  startDemo,
  startRedis,
  TcpUser,
  WsUser,
} from './helpers.js';

const stops: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

let redis: Promise<RedisServer> | undefined;
async function redisUrl(t: TestContext): Promise<string | undefined> {
  if (!needPeer(t, 'redis-server')) return undefined;
  if (redis === undefined) {
    redis = startRedis();
    stops.unshift(async () => (await redis)?.stop());
  }
  return (await redis).url;
}

async function demo(args: string[]): Promise<Demo> {
  const started = await startDemo(args);
  stops.push(started.stop);
  return started;
}

test('two demo processes on one redis share the room: messages, who is online, joins and leaves', async (t) => {
  const url = await redisUrl(t);
  if (url === undefined) return;
  const [one, two] = await Promise.all([demo(['--redis', url]), demo(['--redis', url])]);
  const ada = await WsUser.open(one, { name: 'Ada' });
  const bob = await WsUser.open(two, { name: 'Bob' });
  const term = await TcpUser.open(two);
  t.after(() => {
    ada.socket.terminate();
    bob.socket.terminate();
    term.close();
  });

  const names = (m: { users: Array<{ name: string }> }) => m.users.map((u) => u.name).sort();
  const bobWho = bob.seen.findLast((m) => m.type === 'who')!;
  assert.deepEqual(names(bobWho as never), ['Ada', 'Bob']);
  await ada.waitFor((m) => m.type === 'join' && m.name === 'Bob', "Bob's join, from the other process");
  await ada.waitFor((m) => m.type === 'join' && m.name === term.name, "the terminal's join");
  assert.match(term.lines.at(-1)!, /^\* 3 online: Ada, Bob, guest-\d{4}$/);

  await ada.send({ type: 'message', text: 'hello from one' });
  await bob.waitFor((m) => m.type === 'message' && m.text === 'hello from one', 'the message in two');
  await term.waitFor(/^\[Ada\] hello from one$/);
  await term.say('hello from a terminal on two');
  await ada.waitFor(
    (m) => m.type === 'message' && m.text === 'hello from a terminal on two',
    'the line in one',
  );

  const history = (await (await fetch(`${one.url}api/history`)).json()) as Array<{ text: string }>;
  assert.deepEqual(
    history.map((m) => m.text),
    ['hello from one', 'hello from a terminal on two'],
  );

  await bob.send({ type: 'nick', name: 'ada' });
  await bob.waitFor(
    (m) => m.type === 'error' && m.code === 'name-taken',
    'a name taken in the other process',
  );

  await bob.socket.close();
  await ada.waitFor((m) => m.type === 'leave' && m.name === 'Bob', "Bob's leave");
  await ada.send({ type: 'who' });
  await eventually(() => {
    const who = ada.seen.findLast((m) => m.type === 'who');
    return who && names(who as never).length === 2 ? who : undefined;
  }, 'who without Bob');
});

test('--workers 2 --redis serves one room from two processes, and Ctrl+C ends them all', async (t) => {
  const url = await redisUrl(t);
  if (url === undefined) return;
  const served = await demo(['--redis', url, '--workers', '2']);
  // node:cluster hands connections to the workers in turn: four users cover both.
  const users = await Promise.all([1, 2, 3, 4].map(() => TcpUser.open(served)));
  t.after(() => users.forEach((u) => u.close()));
  const [first, ...others] = users;
  await first!.say('one room');
  for (const other of others) await other.waitFor(new RegExp(`^\\[${first!.name}\\] one room$`));
  const page = await WsUser.open(served, { name: 'Web' });
  // A user who joined in the other worker reaches this one's presence through Redis, in its own
  // time: the welcome's list may be one short, a 'who' asked a moment later is not. A few asks,
  // well inside the room's rate limit.
  let who = page.seen.findLast((m) => m.type === 'who')!;
  for (let ask = 0; ask < 5 && who.users.length < 5; ask++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const answered = page.seen.length;
    await page.send({ type: 'who' });
    who = await eventually(() => page.seen.slice(answered).find((m) => m.type === 'who'), 'an answer to who');
  }
  assert.equal(who.users.length, 5);
  assert.equal(await served.stop(), 0);
  for (const user of users) await user.waitFor(/^\* the server is shutting down, bye$/);
  assert.equal((await page.waitClosed()).code, 1001);
});
