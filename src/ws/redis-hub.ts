/**
 * @module wirekit/ws/redis-hub
 * `RedisHub`: the rooms of several processes shared through one redis server (ioredis pub/sub
 * for messages and presence events, a hash per room for presence, a heartbeat key per process).
 */
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import { HubError } from '../errors.js';
import {
  checkRoom,
  encodeMessage,
  type EventsOptions,
  type Hub,
  type HubMember,
  type HubOptions,
  type JoinOptions,
  LocalRooms,
  type Presence,
  type PresenceEvent,
  PresenceFeed,
  type PublishOptions,
  resolveHubOptions,
  sizeOf,
} from './hub.js';

/** Options for {@link RedisHub}: those of every hub, and where redis is. */
export interface RedisHubOptions extends HubOptions {
  /** The redis server, as ioredis takes it (`redis://`, `rediss://`). **Default:** `'redis://127.0.0.1:6379'`. */
  url?: string;
  /** Prefix of every channel (`<prefix>:<room>`) and key. **Default:** `'wirekit:hub'`. */
  prefix?: string;
  /**
   * Milliseconds a process's members stay in presence after its last heartbeat (sent every
   * third of it), so a crashed process's members disappear. **Default:** `15_000`.
   */
  presenceTtl?: number;
  /** Milliseconds the first operation waits for redis before failing with `HubError`. **Default:** `10_000`. */
  connectTimeout?: number;
}

export const redisHubDefaults = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'wirekit:hub',
  presenceTtl: 15_000,
  connectTimeout: 10_000,
} satisfies RedisHubOptions;

// Frame on a room channel: kind byte, origin node length byte, origin node, payload.
const TEXT = 0x74; // 't'
const BINARY = 0x62; // 'b'
const EVENT = 0x70; // 'p'

const require = createRequire(import.meta.url);

/** ioredis, loaded on first use so that MemoryHub users never load it. */
function loadRedis(): typeof Redis {
  return (require('ioredis') as { Redis: typeof Redis }).Redis;
}

/** The URL without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}

/**
 * Rooms shared by every process connected to one redis server. A publish reaches this process's
 * members at once and the others through redis; presence and its events span every process.
 *
 * @example
 * const hub = new RedisHub({ url: 'redis://127.0.0.1:6379' });
 * await hub.join('lobby', socket, { name: 'ada' });
 * await hub.publish('lobby', { from: 'ada', text: 'hi' }, { except: socket });
 * console.log(await hub.presence('lobby')); // [{ id, name: 'ada', node }, ...] from every process
 * await hub.close();
 */
export class RedisHub implements Hub {
  readonly node: string;
  readonly #rooms: LocalRooms;
  readonly #feed: PresenceFeed;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  /** Bytes of `<prefix>:`, where a channel name's room starts. */
  readonly #roomStart: number;
  readonly #url: string;
  readonly #ttl: number;
  readonly #nodeBytes: Buffer;
  readonly #textHead: string;
  readonly #binaryHead: Buffer;
  readonly #eventHead: string;
  readonly #started: Promise<void>;
  readonly #timer: NodeJS.Timeout;
  readonly #pending = new Set<Promise<void>>();
  /** Rooms whose presence in redis may be behind this process's (changed while disconnected). */
  readonly #dirty = new Set<string>();
  #lastError: unknown;
  #everReady = false;
  #closed = false;

  constructor(options: RedisHubOptions = {}) {
    const o = resolveHubOptions(options);
    const url = options.url ?? redisHubDefaults.url;
    const prefix = options.prefix ?? redisHubDefaults.prefix;
    const ttl = options.presenceTtl ?? redisHubDefaults.presenceTtl;
    const connectTimeout = options.connectTimeout ?? redisHubDefaults.connectTimeout;
    if (typeof url !== 'string' || url === '') throw new TypeError('url must be a redis:// URL');
    if (typeof prefix !== 'string' || prefix === '') throw new TypeError('prefix must be a non-empty string');
    if (!(ttl >= 100)) throw new RangeError(`presenceTtl must be >= 100 ms, got ${ttl}`);
    if (!(connectTimeout > 0)) throw new RangeError(`connectTimeout must be > 0 ms, got ${connectTimeout}`);

    this.node = o.node;
    this.#prefix = prefix;
    this.#roomStart = Buffer.byteLength(prefix) + 1;
    this.#url = safeUrl(url);
    this.#ttl = ttl;
    this.#nodeBytes = Buffer.from(o.node, 'latin1');
    const head = String.fromCharCode(o.node.length) + o.node;
    this.#textHead = String.fromCharCode(TEXT) + head;
    this.#eventHead = String.fromCharCode(EVENT) + head;
    this.#binaryHead = Buffer.from(String.fromCharCode(BINARY) + head, 'latin1');
    this.#feed = new PresenceFeed(o.maxQueuedEvents);
    this.#rooms = new LocalRooms(o, (event) => this.#announce(event));

    const Redis = loadRedis();
    const common: RedisOptions = { connectTimeout, lazyConnect: false };
    // Fail fast rather than queue: a message published while redis is away must not arrive later
    // out of context. The subscriber queues (its PSUBSCRIBE waits for the connection) and
    // resubscribes by itself after a reconnect.
    this.#pub = new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    this.#sub = new Redis(url, { ...common, autoResubscribe: true });
    const remember = (err: unknown): void => {
      this.#lastError = err;
    };
    this.#pub.on('error', remember);
    this.#sub.on('error', remember);
    this.#sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) =>
      this.#receive(channel, message),
    );
    this.#pub.on('ready', () => {
      if (this.#everReady) void this.#track(this.#resync());
    });

    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
    const ready = new Promise<void>((resolve) => {
      if (this.#pub.status === 'ready') resolve();
      else this.#pub.once('ready', () => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new HubError(`cannot reach redis at ${this.#url} within ${connectTimeout} ms`, {
              cause: this.#lastError,
            }),
          ),
        connectTimeout,
      );
    });
    this.#started = Promise.race([Promise.all([ready, this.#sub.psubscribe(pattern)]), timeout]).then(
      async () => {
        clearTimeout(timer);
        this.#everReady = true;
        await this.#beat();
      },
      (err: unknown) => {
        clearTimeout(timer);
        throw err instanceof HubError
          ? err
          : new HubError(`cannot reach redis at ${this.#url}: ${String(err)}`, { cause: err });
      },
    );
    this.#started.catch(() => {});
    this.#timer = setInterval(() => void this.#tick(), Math.floor(ttl / 3));
    this.#timer.unref();
  }

  /** Whether the publishing connection is up: `publish()` fails with `HubError` while it is not. */
  get connected(): boolean {
    return this.#pub.status === 'ready';
  }

  async join(room: string, member: HubMember, options?: JoinOptions): Promise<Presence> {
    this.#open();
    checkRoom(room);
    await this.#started;
    this.#open();
    const { presence, event } = this.#rooms.join(room, member, options);
    if (event !== undefined) {
      this.#feed.emit(event);
      await this.#track(this.#share(event));
    }
    return presence;
  }

  async leave(room: string, member: HubMember): Promise<boolean> {
    const event = this.#rooms.leave(room, member, 'left');
    if (event === undefined) return false;
    this.#feed.emit(event);
    await this.#track(this.#share(event));
    return true;
  }

  async publish(room: string, message: unknown, options?: PublishOptions): Promise<number> {
    this.#open();
    const data = encodeMessage(message);
    await this.#started;
    const handed = this.#rooms.dispatch(room, data, sizeOf(data), options?.except);
    if (this.#pub.status !== 'ready') throw this.#disconnected('publish');
    const frame = typeof data === 'string' ? this.#textHead + data : Buffer.concat([this.#binaryHead, data]);
    try {
      await this.#pub.publish(this.#channel(room), frame);
    } catch (err) {
      throw this.#disconnected('publish', err);
    }
    return handed;
  }

  members(room: string): HubMember[] {
    return this.#rooms.members(room);
  }

  /**
   * Who is in `room` in every process: this process's members, and those of every process whose
   * heartbeat is alive. Entries of a process that stopped beating are removed (with a `leave`
   * event, reason `expired`) by the first hub that sees them.
   */
  async presence(room: string): Promise<Presence[]> {
    this.#open();
    checkRoom(room);
    await this.#started;
    if (this.#pub.status !== 'ready') throw this.#disconnected('read presence');
    try {
      return [...this.#rooms.presence(room), ...(await this.#remote(room))];
    } catch (err) {
      throw this.#disconnected('read presence', err);
    }
  }

  events(room: string, options: EventsOptions = {}): AsyncIterableIterator<PresenceEvent> {
    this.#open();
    checkRoom(room);
    return this.#feed.open(room, options.signal);
  }

  /**
   * Removes this process's members from presence (other processes see `leave` events, reason
   * `shutdown`), ends every `events()` iteration and quits both redis connections.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const events = this.#rooms.clear();
    this.#feed.close();
    await Promise.allSettled(this.#pending);
    if (this.#pub.status === 'ready') {
      const batch = this.#pub.multi();
      for (const event of events) {
        batch.hdel(this.#presenceKey(event.room), event.id);
        batch.publish(this.#channel(event.room), this.#eventHead + JSON.stringify(event));
      }
      batch.del(this.#nodeKey(this.node));
      await batch.exec().catch(() => {});
    }
    await Promise.allSettled([quit(this.#pub), quit(this.#sub)]);
  }

  #open(): void {
    if (this.#closed) throw new HubError('the hub is closed');
  }

  #disconnected(what: string, cause: unknown = this.#lastError): HubError {
    return new HubError(`cannot ${what}: not connected to redis at ${this.#url}`, { cause });
  }

  #channel(room: string): string {
    return `${this.#prefix}:${room}`;
  }

  #presenceKey(room: string): string {
    return `${this.#prefix}:presence:${room}`;
  }

  #nodeKey(node: string): string {
    return `${this.#prefix}:node:${node}`;
  }

  #track(work: Promise<void>): Promise<void> {
    this.#pending.add(work);
    return work.finally(() => this.#pending.delete(work));
  }

  /** A departure the room engine decided (closed, failed, slow member): tell everyone. */
  #announce(event: PresenceEvent): void {
    this.#feed.emit(event);
    void this.#track(this.#share(event));
  }

  /**
   * Writes a join or leave to the room's presence hash and publishes it. Never fails: while
   * redis is away the room is marked, and the reconnect writes this process's truth back.
   */
  async #share(event: PresenceEvent): Promise<void> {
    if (this.#pub.status !== 'ready') {
      this.#dirty.add(event.room);
      return;
    }
    const batch = this.#pub.multi();
    const key = this.#presenceKey(event.room);
    if (event.type === 'join') batch.hset(key, event.id, presenceJson(event));
    else batch.hdel(key, event.id);
    batch.publish(this.#channel(event.room), this.#eventHead + JSON.stringify(event));
    try {
      await batch.exec();
    } catch {
      this.#dirty.add(event.room);
    }
  }

  #receive(channel: Buffer, message: Buffer): void {
    const length = message[1] ?? 0;
    const start = 2 + length;
    if (message.length < start) return; // not a wirekit frame: someone else publishes on our prefix
    // Our own publish came back: its members got it when it was published.
    if (length === this.#nodeBytes.length && message.compare(this.#nodeBytes, 0, length, 2, start) === 0)
      return;
    const room = channel.toString('utf8', this.#roomStart);
    const kind = message[0];
    if (kind === TEXT) {
      if (this.#rooms.has(room))
        this.#rooms.dispatch(room, message.toString('utf8', start), message.length - start, undefined);
    } else if (kind === BINARY) {
      if (this.#rooms.has(room))
        this.#rooms.dispatch(room, message.subarray(start), message.length - start, undefined);
    } else if (kind === EVENT) {
      if (!this.#feed.has(room)) return;
      let event: PresenceEvent;
      try {
        event = JSON.parse(message.toString('utf8', start)) as PresenceEvent;
      } catch {
        return; // not a wirekit frame: someone else publishes on our prefix
      }
      this.#feed.emit(event);
    }
  }

  /**
   * The live entries of other processes in `room`. Entries whose process has no heartbeat are
   * deleted; the hub whose HDEL removed one publishes its `expired` leave, so it is told once.
   */
  async #remote(room: string): Promise<Presence[]> {
    const key = this.#presenceKey(room);
    const all = await this.#pub.hgetall(key);
    const entries: Presence[] = [];
    const nodes = new Set<string>();
    for (const value of Object.values(all)) {
      let entry: Presence;
      try {
        entry = JSON.parse(value) as Presence;
      } catch {
        continue;
      }
      if (entry.node === this.node) continue;
      entries.push(entry);
      nodes.add(entry.node);
    }
    if (nodes.size === 0) return [];
    const list = [...nodes];
    const beats = await this.#pub.mget(list.map((node) => this.#nodeKey(node)));
    const dead = new Set(list.filter((_, i) => beats[i] === null));
    if (dead.size === 0) return entries;
    const live: Presence[] = [];
    for (const entry of entries) {
      if (!dead.has(entry.node)) {
        live.push(entry);
        continue;
      }
      if ((await this.#pub.hdel(key, entry.id)) === 1) {
        const event: PresenceEvent = { type: 'leave', room, ...entry, reason: 'expired' };
        this.#feed.emit(event);
        await this.#pub.publish(this.#channel(room), this.#eventHead + JSON.stringify(event));
      }
    }
    return live;
  }

  async #beat(): Promise<void> {
    await this.#pub.set(this.#nodeKey(this.node), '1', 'PX', this.#ttl);
  }

  /** Every third of the TTL: heartbeat, and sweep the rooms someone here watches for events. */
  async #tick(): Promise<void> {
    if (!this.#everReady || this.#pub.status !== 'ready') return;
    try {
      await this.#beat();
      for (const room of [...this.#feed.rooms()]) await this.#remote(room);
    } catch {
      // The connection dropped mid-tick; the reconnect resyncs.
    }
  }

  /**
   * After a reconnect: heartbeat again, and make redis hold exactly this process's members for
   * every room it has members in or changed while away (other processes may have expired them).
   */
  async #resync(): Promise<void> {
    const rooms = new Set([...this.#rooms.rooms(), ...this.#dirty]);
    this.#dirty.clear();
    try {
      await this.#beat();
      for (const room of rooms) {
        const key = this.#presenceKey(room);
        const local = this.#rooms.presence(room);
        const keep = new Set(local.map((p) => p.id));
        const batch = this.#pub.multi();
        for (const [id, value] of Object.entries(await this.#pub.hgetall(key))) {
          if (!keep.has(id) && nodeOf(value) === this.node) batch.hdel(key, id);
        }
        for (const p of local) batch.hset(key, p.id, presenceJson(p));
        await batch.exec();
        rooms.delete(room);
      }
    } catch {
      // Dropped again: the next 'ready' starts over with what is left.
      for (const room of rooms) this.#dirty.add(room);
    }
  }
}

function nodeOf(json: string): string | undefined {
  try {
    return (JSON.parse(json) as Partial<Presence>).node;
  } catch {
    return undefined;
  }
}

function presenceJson(p: Presence): string {
  return JSON.stringify(
    p.name === undefined ? { id: p.id, node: p.node } : { id: p.id, name: p.name, node: p.node },
  );
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  redis.disconnect();
}
