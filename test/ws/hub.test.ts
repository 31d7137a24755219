/**
 * One suite for both hubs (memory, redis): rooms, publish, except, members that close, fail or
 * fall behind, serialization once per publish, presence and its events. Then what only RedisHub
 * does, against a real redis-server started here: two hubs ("processes") sharing rooms and
 * presence, a crashed process's members expiring, redis going away and coming back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, describe, type TestContext, test } from 'node:test';
import type { Redis as RedisClient } from 'ioredis';
import { HubError } from '../../src/errors.js';
import {
  type Hub,
  type HubMember,
  type HubOptions,
  MemoryHub,
  type PresenceEvent,
} from '../../src/ws/hub.js';
import { RedisHub, type RedisHubOptions } from '../../src/ws/redis-hub.js';
import type { WebSocket } from '../../src/ws/socket.js';
import { needPeer, type RedisServer, root, sleep, startRedis } from '../helpers.js';
import { freePort } from '../net/tcp-helpers.js';

/** A member that records what it got; its sends succeed, fail, hang, or wait for `release()`. */
class TestMember implements HubMember {
  readonly got: (string | Uint8Array)[] = [];
  readonly closes: [number | undefined, string | undefined][] = [];
  readonly closed: Promise<void>;
  mode: 'ok' | 'reject' | 'throw' | 'hang' | 'held' = 'ok';
  readonly #held: (() => void)[] = [];
  #end!: () => void;

  constructor() {
    this.closed = new Promise((resolve) => (this.#end = resolve));
  }

  send(data: string | Uint8Array): Promise<void> {
    if (this.mode === 'throw') throw new Error('send threw');
    if (this.mode === 'reject') return Promise.reject(new Error('socket is gone'));
    this.got.push(data);
    if (this.mode === 'hang') return new Promise(() => {});
    if (this.mode === 'held') return new Promise((resolve) => this.#held.push(resolve));
    return Promise.resolve();
  }

  close(code?: number, reason?: string): void {
    this.closes.push([code, reason]);
  }

  /** Settles the oldest held send. */
  releaseOne(): void {
    this.#held.shift()?.();
  }

  /** Settles every held send. */
  release(): void {
    for (const resolve of this.#held.splice(0)) resolve();
  }

  /** The socket went away: `closed` settles. */
  end(): void {
    this.#end();
  }

  get texts(): string[] {
    return this.got.map((d) => (typeof d === 'string' ? d : `bytes:${Buffer.from(d).toString()}`));
  }
}

// Compile-time: wirekit's WebSocket is a HubMember as it is (npm run typecheck checks this line).
const _socketIsMember = (socket: WebSocket): HubMember => socket;

async function waitFor(what: string, check: () => boolean, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function nextEvent(events: AsyncIterator<PresenceEvent>, timeout = 5_000): Promise<PresenceEvent> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    events.next(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no presence event came')), timeout);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(result.done, false);
  return result.value as PresenceEvent;
}

/** The fields of an event a test can predict. */
const brief = (e: PresenceEvent) => ({
  type: e.type,
  room: e.room,
  id: e.id,
  name: e.name,
  reason: e.reason,
});

// ---- redis-server, started once for the file on a free port ------------------------------

let shared: Promise<RedisServer> | undefined;
const stops: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.allSettled(stops.map((stop) => stop()));
});

/** The file's redis-server; undefined (the test skipped) when redis-server is not installed. */
async function redis(t: TestContext): Promise<RedisServer | undefined> {
  if (!needPeer(t, 'redis-server')) return undefined;
  if (shared === undefined) {
    shared = startRedis();
    shared.then((server) => stops.push(server.stop)).catch(() => {});
  }
  return shared;
}

let prefixes = 0;
/** A RedisHub on the shared server, closed after the test; each test gets its own prefix. */
async function redisHub(
  t: TestContext,
  options: RedisHubOptions = {},
  prefix = `wk-test-${process.pid}-${++prefixes}`,
): Promise<RedisHub | undefined> {
  const server = await redis(t);
  if (server === undefined) return undefined;
  const hub = new RedisHub({ url: server.url, prefix, ...options });
  t.after(() => hub.close());
  return hub;
}

// ---- the shared suite -------------------------------------------------------------------

type MakeHub = (t: TestContext, options?: HubOptions) => Promise<Hub | undefined>;

function hubSuite(name: string, makeHub: MakeHub): void {
  describe(`${name}: the hub suite`, () => {
    test('publish reaches every member of the room and only them; leave stops it', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const [a, b, c] = [new TestMember(), new TestMember(), new TestMember()];
      await hub.join('room', a);
      await hub.join('room', b);
      await hub.join('other', c);
      assert.deepEqual(hub.members('room'), [a, b]);
      assert.equal(await hub.publish('room', 'one'), 2);
      assert.equal(await hub.leave('room', a), true);
      assert.equal(await hub.leave('room', a), false);
      assert.equal(await hub.publish('room', 'two'), 1);
      assert.equal(await hub.publish('empty', 'nobody'), 0);
      assert.deepEqual([a.texts, b.texts, c.texts], [['one'], ['one', 'two'], []]);
      assert.deepEqual(hub.members('room'), [b]);
      assert.deepEqual(hub.members('never'), []);
    });

    test('except leaves the sender out', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const [a, b] = [new TestMember(), new TestMember()];
      await hub.join('room', a);
      await hub.join('room', b);
      assert.equal(await hub.publish('room', 'from a', { except: a }), 1);
      assert.deepEqual([a.texts, b.texts], [[], ['from a']]);
    });

    test('strings go as text, bytes as binary, other values as JSON serialized once for every member', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const members = Array.from({ length: 5 }, () => new TestMember());
      for (const m of members) await hub.join('room', m);
      let serialized = 0;
      const message = {
        toJSON() {
          serialized++;
          return { text: 'hi', n: 1 };
        },
      };
      await hub.publish('room', message);
      await hub.publish('room', new Uint8Array([104, 105]));
      await hub.publish('room', 'plain');
      assert.equal(serialized, 1);
      const first = members[0]!.got;
      assert.equal(first[0], '{"text":"hi","n":1}');
      assert.ok(first[1] instanceof Uint8Array);
      assert.equal(first[2], 'plain');
      for (const m of members)
        for (let i = 0; i < 3; i++) assert.equal(m.got[i], first[i], 'every member gets the same instance');
      await assert.rejects(hub.publish('room', undefined), TypeError);
    });

    test('a member whose closed promise settles leaves every room, with leave events', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const events = hub.events('b');
      const [gone, stays] = [new TestMember(), new TestMember()];
      await hub.join('a', gone);
      await hub.join('b', gone, { name: 'gone' });
      await hub.join('b', stays);
      const presence = await hub.presence('b');
      assert.equal(presence.length, 2);
      gone.end();
      await waitFor('the closed member to leave', () => hub.members('a').length === 0);
      assert.deepEqual(hub.members('b'), [stays]);
      const joined = [await nextEvent(events), await nextEvent(events)];
      assert.deepEqual(
        joined.map((e) => e.type),
        ['join', 'join'],
      );
      const left = await nextEvent(events);
      assert.deepEqual(brief(left), {
        type: 'leave',
        room: 'b',
        id: joined[0]!.id,
        name: 'gone',
        reason: 'closed',
      });
      assert.equal(left.node, hub.node);
      await hub.publish('b', 'after');
      assert.deepEqual(gone.texts, []);
      await events.return!();
    });

    test('a member whose send rejects or throws leaves; publish resolves and the others get every message', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const events = hub.events('room');
      const [good, rejects, throws] = [new TestMember(), new TestMember(), new TestMember()];
      await hub.join('room', rejects);
      await hub.join('room', throws);
      await hub.join('room', good);
      rejects.mode = 'reject';
      throws.mode = 'throw';
      // A rejected send was handed over (it fails later); a send that throws was not.
      assert.equal(await hub.publish('room', 'one'), 2);
      await waitFor('the failed members to leave', () => hub.members('room').length === 1);
      await hub.publish('room', 'two');
      assert.deepEqual(good.texts, ['one', 'two']);
      const seen: PresenceEvent[] = [];
      for (let i = 0; i < 5; i++) seen.push(await nextEvent(events));
      assert.deepEqual(
        seen.filter((e) => e.type === 'leave').map((e) => e.reason),
        ['failed', 'failed'],
      );
      await events.return!();
    });

    test('a member that never takes its messages is closed with 1008 once its backlog passes maxBacklog', async (t) => {
      const hub = await makeHub(t, { maxBacklog: 1_000 });
      if (!hub) return;
      const events = hub.events('room');
      const [slow, fast] = [new TestMember(), new TestMember()];
      slow.mode = 'hang';
      await hub.join('room', slow, { name: 'slow' });
      await hub.join('room', fast);
      const message = 'x'.repeat(400);
      // 400 + 400 <= 1000 bytes are handed over; the third would make 1200 pending bytes.
      for (let i = 0; i < 4; i++) await hub.publish('room', message);
      assert.equal(slow.got.length, 2);
      assert.equal(fast.got.length, 4);
      assert.deepEqual(slow.closes, [[1008, 'too slow']]);
      assert.deepEqual(hub.members('room'), [fast]);
      await nextEvent(events);
      await nextEvent(events);
      const left = await nextEvent(events);
      assert.deepEqual([left.type, left.name, left.reason], ['leave', 'slow', 'slow']);
      await events.return!();
    });

    test("slowMember 'skip' keeps a slow member and skips messages until it catches up", async (t) => {
      const hub = await makeHub(t, { maxBacklog: 1_000, slowMember: 'skip' });
      if (!hub) return;
      const slow = new TestMember();
      slow.mode = 'held';
      await hub.join('room', slow);
      for (const n of [1, 2, 3]) await hub.publish('room', `${n}`.repeat(600));
      assert.equal(slow.got.length, 1, 'the first is handed over; the rest would pass 1000 bytes');
      slow.release();
      await sleep(5);
      await hub.publish('room', 'caught up');
      assert.deepEqual(slow.closes, []);
      assert.deepEqual(hub.members('room'), [slow]);
      assert.equal(slow.got.at(-1), 'caught up');
      // A single message larger than the limit still goes to a member with nothing pending.
      slow.release();
      await sleep(5);
      await hub.publish('room', 'y'.repeat(5_000));
      assert.equal((slow.got.at(-1) as string).length, 5_000);
    });

    test('the backlog counts exactly the bytes of sends not settled yet, oldest first', async (t) => {
      const hub = await makeHub(t, { maxBacklog: 1_000, slowMember: 'skip' });
      if (!hub) return;
      const member = new TestMember();
      member.mode = 'held';
      await hub.join('room', member);
      for (const size of [100, 200, 300]) await hub.publish('room', 'a'.repeat(size));
      member.releaseOne(); // the 100-byte send settles: 500 bytes pending
      await sleep(5);
      assert.equal(await hub.publish('room', 'b'.repeat(500)), 1, '500 + 500 is within 1000');
      assert.equal(await hub.publish('room', 'c'), 0, '1001 bytes would pass the limit');
      member.releaseOne(); // 200 settles: 800 pending
      await sleep(5);
      assert.equal(await hub.publish('room', 'd'.repeat(200)), 1);
      assert.equal(await hub.publish('room', 'e'), 0);
      member.release();
      await sleep(5);
      assert.equal(await hub.publish('room', 'f'.repeat(1_000)), 1, 'nothing pending once all settled');
      assert.deepEqual(
        member.texts.map((text) => text.length),
        [100, 200, 300, 500, 200, 1_000],
      );
    });

    test('presence lists ids and names; a member keeps its id across rooms; joining twice is a no-op', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const [a, b] = [new TestMember(), new TestMember()];
      const pa = await hub.join('room', a, { id: 'ada', name: 'Ada' });
      const pb = await hub.join('room', b);
      assert.deepEqual(pa, { id: 'ada', name: 'Ada', node: hub.node });
      assert.match(pb.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(await hub.join('room', a), pa);
      assert.equal((await hub.join('other', a)).id, 'ada');
      await assert.rejects(hub.join('third', a, { id: 'someone-else' }), TypeError);
      const presence = await hub.presence('room');
      assert.deepEqual(presence.map((p) => p.id).sort(), ['ada', pb.id].sort());
      assert.deepEqual(hub.members('room'), [a, b]);
      assert.deepEqual(await hub.presence('nobody-here'), []);
    });

    test('events() tells joins and leaves of one room and ends when the hub closes', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const room = hub.events('room');
      const other = hub.events('other');
      const a = new TestMember();
      await hub.join('room', a, { id: 'a1', name: 'A' });
      await hub.join('elsewhere', a);
      await hub.leave('room', a);
      assert.deepEqual(brief(await nextEvent(room)), {
        type: 'join',
        room: 'room',
        id: 'a1',
        name: 'A',
        reason: undefined,
      });
      assert.deepEqual(brief(await nextEvent(room)), {
        type: 'leave',
        room: 'room',
        id: 'a1',
        name: 'A',
        reason: 'left',
      });
      await hub.close();
      assert.deepEqual(await room.next(), { value: undefined, done: true });
      assert.deepEqual(await other.next(), { value: undefined, done: true });
      await assert.rejects(hub.join('room', a), HubError);
      await assert.rejects(hub.publish('room', 'x'), (err: HubError) => err.code === 'WK_ERR_HUB');
    });

    test('an aborted events() iteration rejects with AbortError and stops getting events', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      const controller = new AbortController();
      const events = hub.events('room', { signal: controller.signal });
      const pending = events.next();
      controller.abort();
      await assert.rejects(pending, { code: 'WK_ERR_ABORTED' });
      await hub.join('room', new TestMember());
      assert.deepEqual(await events.next(), { value: undefined, done: true });
    });

    test('bad arguments are TypeErrors', async (t) => {
      const hub = await makeHub(t);
      if (!hub) return;
      await assert.rejects(hub.join('', new TestMember()), TypeError);
      await assert.rejects(hub.join('room', {} as HubMember), TypeError);
      assert.throws(() => hub.events(''), TypeError);
      assert.throws(() => new MemoryHub({ maxBacklog: -1 }), RangeError);
      assert.throws(() => new MemoryHub({ slowMember: 'drop' as 'skip' }), TypeError);
      assert.throws(() => new MemoryHub({ node: 'has space' }), TypeError);
    });
  });
}

hubSuite('MemoryHub', async (t, options) => {
  const hub = new MemoryHub(options);
  t.after(() => hub.close());
  return hub;
});

hubSuite('RedisHub', (t, options) => redisHub(t, options));

// ---- RedisHub across processes ----------------------------------------------------------

function rawClient(url: string): RedisClient {
  const { Redis } = createRequire(import.meta.url)('ioredis') as { Redis: new (url: string) => RedisClient };
  return new Redis(url);
}

describe('RedisHub across processes', () => {
  test('two hubs deliver each other’s publishes once each: text, bytes and JSON; except is local', async (t) => {
    const prefix = `wk-test-${process.pid}-${++prefixes}`;
    const one = await redisHub(t, { node: 'one' }, prefix);
    const two = await redisHub(t, { node: 'two' }, prefix);
    if (!one || !two) return;
    const [a, b, c] = [new TestMember(), new TestMember(), new TestMember()];
    await one.join('room', a);
    await one.join('room', b);
    await two.join('room', c);
    assert.equal(await one.publish('room', 'from one', { except: a }), 1);
    // Each process delivers its own publishes at once and the others' when redis brings them, so
    // publishes of two processes may interleave differently in each: wait before the next one.
    await waitFor('the first publish to cross', () => c.got.length === 1);
    assert.equal(await two.publish('room', new Uint8Array([1, 2, 3])), 1);
    assert.equal(await two.publish('room', { n: 1 }), 1);
    await waitFor('the remote publishes', () => a.got.length === 2 && b.got.length === 3);
    await sleep(50); // an echo of one's own publish would land by now
    const bytes = `bytes:${Buffer.from([1, 2, 3]).toString()}`;
    assert.deepEqual(a.texts, [bytes, '{"n":1}']);
    assert.deepEqual(b.texts, ['from one', bytes, '{"n":1}']);
    assert.deepEqual(c.texts, ['from one', bytes, '{"n":1}']);
    assert.ok(a.got[0] instanceof Uint8Array);
  });

  test('presence and its events span both hubs; a closing hub takes its members out', async (t) => {
    const prefix = `wk-test-${process.pid}-${++prefixes}`;
    const one = await redisHub(t, { node: 'one' }, prefix);
    const two = await redisHub(t, { node: 'two' }, prefix);
    if (!one || !two) return;
    await one.presence('warm-up'); // both hubs are subscribed once their first operation resolves
    await two.presence('warm-up');
    const events = one.events('room');
    await one.join('room', new TestMember(), { id: 'ada', name: 'Ada' });
    const bob = new TestMember();
    await two.join('room', bob, { id: 'bob', name: 'Bob' });
    assert.deepEqual(brief(await nextEvent(events)), {
      type: 'join',
      room: 'room',
      id: 'ada',
      name: 'Ada',
      reason: undefined,
    });
    const remoteJoin = await nextEvent(events);
    assert.deepEqual(brief(remoteJoin), {
      type: 'join',
      room: 'room',
      id: 'bob',
      name: 'Bob',
      reason: undefined,
    });
    assert.equal(remoteJoin.node, 'two');
    const sorted = async (hub: Hub) => (await hub.presence('room')).sort((x, y) => x.id.localeCompare(y.id));
    const everyone = [
      { id: 'ada', name: 'Ada', node: 'one' },
      { id: 'bob', name: 'Bob', node: 'two' },
    ];
    assert.deepEqual(await sorted(one), everyone);
    assert.deepEqual(await sorted(two), everyone);
    assert.deepEqual(two.members('room'), [bob]);

    bob.end();
    assert.deepEqual(brief(await nextEvent(events)), {
      type: 'leave',
      room: 'room',
      id: 'bob',
      name: 'Bob',
      reason: 'closed',
    });
    await two.join('room', new TestMember(), { id: 'cy' });
    assert.equal((await nextEvent(events)).id, 'cy');
    await two.close();
    assert.deepEqual(brief(await nextEvent(events)), {
      type: 'leave',
      room: 'room',
      id: 'cy',
      name: undefined,
      reason: 'shutdown',
    });
    assert.deepEqual(await sorted(one), [everyone[0]]);
  });

  test('members of a process that stopped its heartbeat expire, with one leave event', async (t) => {
    const prefix = `wk-test-${process.pid}-${++prefixes}`;
    const one = await redisHub(t, { node: 'one', presenceTtl: 300 }, prefix);
    const two = await redisHub(t, { node: 'two', presenceTtl: 300 }, prefix);
    if (!one || !two) return;
    const server = (await redis(t))!;
    const raw = rawClient(server.url);
    t.after(() => raw.quit());
    await one.presence('warm-up');
    await two.presence('warm-up');
    const oneEvents = one.events('room');
    const twoEvents = two.events('room');
    // A process that crashed: its entry is in the hash, its heartbeat key is not.
    await raw.hset(`${prefix}:presence:room`, 'ghost', JSON.stringify({ id: 'ghost', node: 'crashed' }));
    // Both hubs sweep watched rooms every 100 ms; only the one whose HDEL removed it tells.
    for (const events of [oneEvents, twoEvents])
      assert.deepEqual(brief(await nextEvent(events)), {
        type: 'leave',
        room: 'room',
        id: 'ghost',
        name: undefined,
        reason: 'expired',
      });
    assert.equal(await raw.hexists(`${prefix}:presence:room`, 'ghost'), 0);
    assert.deepEqual(await one.presence('room'), []);
    await raw.hset(`${prefix}:presence:room`, 'ghost2', JSON.stringify({ id: 'ghost2', node: 'crashed' }));
    assert.deepEqual(await two.presence('room'), [], 'presence() leaves dead entries out at once');
    assert.equal((await nextEvent(oneEvents)).id, 'ghost2', 'no duplicate of the first expiry');
    assert.equal((await nextEvent(twoEvents)).id, 'ghost2');
  });

  test('while redis is away publish fails with HubError after local delivery; after it returns presence is restored', async (t) => {
    if (!needPeer(t, 'redis-server')) return;
    let server = await startRedis();
    stops.push(() => server.stop());
    const hub = new RedisHub({ url: server.url, node: 'one', presenceTtl: 60_000 });
    t.after(() => hub.close());
    const local = new TestMember();
    await hub.join('room', local, { id: 'ada' });
    await hub.publish('room', 'before');

    await server.stop();
    await waitFor('the hub to notice', () => !hub.connected);
    const left = new TestMember();
    await hub.join('room', left, { id: 'gone-while-away' });
    await hub.leave('room', left);
    await hub.join('room', new TestMember(), { id: 'joined-while-away' });
    await assert.rejects(hub.publish('room', 'during'), (err: HubError) => {
      assert.equal(err.code, 'WK_ERR_HUB');
      assert.match(err.message, /not connected to redis/);
      return true;
    });
    await assert.rejects(hub.presence('room'), HubError);
    assert.deepEqual(local.texts, ['before', 'during'], 'local members still get it');

    server = await startRedis(server.port);
    stops.push(() => server.stop());
    await waitFor('the hub to reconnect', () => hub.connected, 10_000);
    const other = new RedisHub({ url: server.url, node: 'two' });
    t.after(() => other.close());
    // The new server is empty: the reconnect wrote this process's members back.
    let restored: string[] = [];
    for (const deadline = Date.now() + 5_000; restored.length < 2 && Date.now() < deadline; await sleep(20))
      restored = (await other.presence('room')).map((p) => p.id).sort();
    assert.deepEqual(restored, ['ada', 'joined-while-away']);
    const remote = new TestMember();
    await other.join('room', remote);
    await hub.publish('room', 'after');
    await waitFor('the publish after the outage', () => remote.got.length === 1);
    assert.deepEqual(local.texts, ['before', 'during', 'after']);
  });

  test('a hub that cannot reach redis fails its first operation with HubError after connectTimeout', async (t) => {
    const port = await freePort();
    const hub = new RedisHub({ url: `redis://:secret@127.0.0.1:${port}`, connectTimeout: 300 });
    t.after(() => hub.close());
    const started = Date.now();
    await assert.rejects(hub.publish('room', 'x'), (err: HubError) => {
      assert.equal(err.code, 'WK_ERR_HUB');
      assert.match(err.message, /cannot reach redis .* within 300 ms/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
    assert.ok(Date.now() - started < 3_000);
  });

  test('MemoryHub users do not load ioredis', () => {
    const script = [
      "const { createRequire } = await import('node:module');",
      "const { MemoryHub } = await import('./src/ws/hub.ts');",
      "await import('./src/ws/redis-hub.ts');",
      'new MemoryHub();',
      "const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/ioredis/'));",
      'process.stdout.write(String(loaded));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(result.stderr, '');
    assert.equal(result.stdout, 'false');
  });
});
