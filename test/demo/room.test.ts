/** The chat room's logic on a MemoryHub, with plain objects as members: names, text, history, presence. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { type ChatEvent, ChatRoom } from '../../src/demo/room.js';
import { ChatError, chatLimits, checkName, checkText, RateLimit } from '../../src/demo/rules.js';
import { renderLine } from '../../src/demo/tcp-users.js';
import { MemoryHub } from '../../src/ws/hub.js';

class FakeMember {
  readonly received: ChatEvent[] = [];
  send(data: string | Uint8Array): Promise<void> {
    this.received.push(JSON.parse(String(data)) as ChatEvent);
    return Promise.resolve();
  }
  types(): string[] {
    return this.received.map((e) => `${e.type}:${e.name}`);
  }
}

async function room(t: TestContext): Promise<ChatRoom> {
  const hub = new MemoryHub();
  const chat = new ChatRoom(hub);
  await chat.start();
  t.after(async () => {
    await chat.close();
    await hub.close();
  });
  return chat;
}

const refused = (code: string) => (err: unknown) => err instanceof ChatError && err.code === code;

test('checkName trims and takes 1 to 24 characters, counting code points', () => {
  assert.equal(checkName('  alice '), 'alice');
  assert.equal(checkName('Zoë Ō'), 'Zoë Ō');
  assert.equal(checkName('🙂'.repeat(24)), '🙂'.repeat(24));
  assert.throws(() => checkName('a'.repeat(25)), refused('bad-name'));
  assert.throws(() => checkName('   '), refused('bad-name'));
  assert.throws(() => checkName(42), refused('bad-name'));
});

test('checkName refuses control and format characters, tabs, newlines and runs of spaces', () => {
  for (const name of [
    'a\nb',
    'a\tb',
    'a\u001b[31mb',
    'a\u202eb',
    'a\u200bb',
    'a  b',
    'a\u0000',
    'a\u00a0b',
  ]) {
    assert.throws(() => checkName(name), refused('bad-name'), JSON.stringify(name));
  }
});

test('checkText takes up to 2,000 characters, turns tabs into spaces and keeps emoji sequences', () => {
  assert.equal(checkText('x'.repeat(chatLimits.maxText)).length, 2_000);
  assert.equal(checkText('a\tb'), 'a b');
  assert.equal(checkText('family 👨‍👩‍👧'), 'family 👨‍👩‍👧');
  assert.equal(checkText('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>');
  assert.throws(() => checkText('x'.repeat(2_001)), refused('too-long'));
  assert.throws(() => checkText(' '), refused('bad-text'));
  assert.throws(() => checkText({}), refused('bad-text'));
});

test('checkText refuses what would break or drive a terminal line: newlines, ESC, bidi overrides', () => {
  for (const text of [
    'one\ntwo',
    'one\r[bob] two',
    'red \u001b[31m',
    'bell\u0007',
    'abc\u202edcb',
    'x\u2066y',
  ]) {
    assert.throws(() => checkText(text), refused('bad-text'), JSON.stringify(text));
  }
});

test('RateLimit lets a burst of 10 through, then 2 per second, and counts refusals in a row', () => {
  let now = 0;
  const limit = new RateLimit(10, 2, () => now);
  for (let i = 0; i < 10; i++) assert.equal(limit.take(), true);
  assert.equal(limit.take(), false);
  assert.equal(limit.take(), false);
  assert.equal(limit.refused, 2);
  now += 500;
  assert.equal(limit.take(), true);
  assert.equal(limit.refused, 0);
  assert.equal(limit.take(), false);
  now += 60_000;
  for (let i = 0; i < 10; i++) assert.equal(limit.take(), true);
  assert.equal(limit.take(), false);
});

test('enter announces a join to everyone, or to everyone but the user with quiet', async (t) => {
  const chat = await room(t);
  const alice = new FakeMember();
  const bob = new FakeMember();
  await chat.enter(alice, 'alice');
  await chat.enter(bob, 'bob', { quiet: true });
  assert.deepEqual(alice.types(), ['join:alice', 'join:bob']);
  assert.deepEqual(bob.types(), []);
  assert.deepEqual(
    (await chat.who()).map((u) => u.name),
    ['alice', 'bob'],
  );
});

test('a name in use, in any case, is refused with name-taken; a refused name joins nobody', async (t) => {
  const chat = await room(t);
  await chat.enter(new FakeMember(), 'Alice');
  await assert.rejects(chat.enter(new FakeMember(), 'alice'), refused('name-taken'));
  await assert.rejects(chat.enter(new FakeMember(), 'x\ny'), refused('bad-name'));
  assert.equal((await chat.who()).length, 1);
  const bothAtOnce = await Promise.allSettled([
    chat.enter(new FakeMember(), 'carol'),
    chat.enter(new FakeMember(), 'CAROL'),
  ]);
  assert.deepEqual(
    bothAtOnce.map((r) => r.status),
    ['fulfilled', 'rejected'],
  );
});

test('say reaches every member (the sender too unless quiet) and is kept in the history', async (t) => {
  const chat = await room(t);
  const alice = new FakeMember();
  const bob = new FakeMember();
  const a = await chat.enter(alice, 'alice');
  const b = await chat.enter(bob, 'bob');
  await chat.say(a, 'hello bob');
  await chat.say(b, 'hi alice', { quiet: true });
  assert.deepEqual(
    alice.received.filter((e) => e.type === 'message').map((e) => [e.name, 'text' in e && e.text]),
    [
      ['alice', 'hello bob'],
      ['bob', 'hi alice'],
    ],
  );
  assert.deepEqual(
    bob.received.filter((e) => e.type === 'message').map((e) => 'text' in e && e.text),
    ['hello bob'],
  );
  assert.deepEqual(
    chat.history().map((m) => [m.name, m.text, m.id]),
    [
      ['alice', 'hello bob', a.id],
      ['bob', 'hi alice', b.id],
    ],
  );
  await assert.rejects(chat.say(a, 'x'.repeat(2_001)), refused('too-long'));
  assert.equal(chat.history().length, 2);
});

test('the history keeps the last 100 messages, oldest first', async (t) => {
  const chat = await room(t);
  const user = await chat.enter(new FakeMember(), 'writer');
  for (let i = 1; i <= 105; i++) await chat.say(user, `message ${i}`);
  const history = chat.history();
  assert.equal(history.length, 100);
  assert.equal(history[0]!.text, 'message 6');
  assert.equal(history[99]!.text, 'message 105');
});

test('rename announces the new name to everyone and changes presence; a taken name is refused', async (t) => {
  const chat = await room(t);
  const alice = new FakeMember();
  const a = await chat.enter(alice, 'alice');
  await chat.enter(new FakeMember(), 'bob');
  await chat.rename(a, 'alicia');
  assert.deepEqual(alice.received.at(-1), {
    ...alice.received.at(-1),
    type: 'nick',
    name: 'alicia',
    previous: 'alice',
  });
  assert.deepEqual(
    (await chat.who()).map((u) => [u.id === a.id, u.name]),
    [
      [true, 'alicia'],
      [false, 'bob'],
    ],
  );
  await assert.rejects(chat.rename(a, 'BOB'), refused('name-taken'));
  await chat.say(a, 'still here');
  assert.equal(chat.history().at(-1)!.name, 'alicia');
});

test('exit announces the leave once and frees the name; the recorder never shows in presence', async (t) => {
  const chat = await room(t);
  const alice = new FakeMember();
  const bob = new FakeMember();
  await chat.enter(alice, 'alice');
  await chat.enter(bob, 'bob');
  await chat.exit(bob);
  await chat.exit(bob);
  assert.deepEqual(alice.types(), ['join:alice', 'join:bob', 'leave:bob']);
  assert.deepEqual(
    (await chat.who()).map((u) => u.name),
    ['alice'],
  );
  assert.equal(chat.hub.members(chat.room).length, 2, 'alice and the history recorder');
  await chat.enter(new FakeMember(), 'bob');
});

test('renderLine gives TCP users one line per event', () => {
  const at = 0;
  assert.equal(renderLine({ type: 'message', id: '1', name: 'alice', text: 'hi', at }), '[alice] hi\n');
  assert.equal(renderLine({ type: 'join', id: '1', name: 'alice', at }), '* alice joined\n');
  assert.equal(renderLine({ type: 'leave', id: '1', name: 'alice', at }), '* alice left\n');
  assert.equal(
    renderLine({ type: 'nick', id: '1', name: 'bob', previous: 'alice', at }),
    '* alice is now known as bob\n',
  );
});
