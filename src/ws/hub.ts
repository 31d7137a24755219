/**
 * @module wirekit/ws/hub
 * Rooms and broadcast: the `Hub` interface, `MemoryHub` (one process), and the local room
 * engine both hubs share. `RedisHub` (wirekit/ws/redis-hub) spreads rooms across processes.
 */
import { randomUUID } from 'node:crypto';
import { AbortError, HubError } from '../errors.js';

/**
 * Anything a hub can deliver to: a wirekit `WebSocket` fits, and so does any object with a
 * backpressured `send`. The hub never imports the socket class.
 */
export interface HubMember {
  /** Sends one message; resolves when the member took it (backpressure), rejects if it cannot. */
  send(data: string | Uint8Array): Promise<void>;
  /** Settles when the member is gone; the hub then removes it from every room. */
  readonly closed?: Promise<unknown>;
  /** Called with 1008 when the member falls too far behind (`slowMember: 'close'`). */
  close?(code?: number, reason?: string): unknown;
}

/** Who a member is, as the other members (in every process) see it. */
export interface Presence {
  /** Unique per room across processes. **Default:** a random UUID, one per member per hub. */
  readonly id: string;
  readonly name?: string;
  /** The hub (process) the member is connected to: `hub.node`. */
  readonly node: string;
}

/**
 * Why a member left a room: `left` (`leave()`), `closed` (its `closed` promise settled),
 * `failed` (a send rejected), `slow` (its backlog passed `maxBacklog`), `expired` (its process
 * stopped sending heartbeats), `shutdown` (its hub was closed).
 */
export type LeaveReason = 'left' | 'closed' | 'failed' | 'slow' | 'expired' | 'shutdown';

/** A member joined or left a room, in this process or (RedisHub) another. */
export interface PresenceEvent extends Presence {
  readonly type: 'join' | 'leave';
  readonly room: string;
  /** Set on `leave` events. */
  readonly reason?: LeaveReason;
}

/** Options for {@link Hub.join}. */
export interface JoinOptions {
  /** The member's id; a member keeps its first id in every room of a hub. **Default:** random UUID. */
  id?: string;
  /** A display name for presence. **Default:** none. */
  name?: string;
}

/** Options for {@link Hub.publish}. */
export interface PublishOptions {
  /** A member of this process that does not get the message (usually the sender). */
  except?: HubMember;
}

/** Options for {@link Hub.events}. */
export interface EventsOptions {
  /** Ends the iteration with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * Rooms of members, and broadcast to them. Implementations: {@link MemoryHub} (one process) and
 * `RedisHub` (processes sharing a redis server). Both pass one test suite.
 */
export interface Hub {
  /** This hub's id, unique per process: the `node` of its members' presence. */
  readonly node: string;
  /** Adds `member` to `room`; joining a room twice is a no-op. Resolves with its presence. */
  join(room: string, member: HubMember, options?: JoinOptions): Promise<Presence>;
  /** Removes `member` from `room`; resolves `false` if it was not there. */
  leave(room: string, member: HubMember): Promise<boolean>;
  /**
   * Sends `message` to every member of `room`: a string goes as text, bytes as binary, any other
   * value as its JSON text, serialized once. Resolves with the number of members of this
   * process it was handed to, without waiting for them to take it; a member's failure never
   * rejects it.
   */
  publish(room: string, message: unknown, options?: PublishOptions): Promise<number>;
  /** The members of `room` in this process. */
  members(room: string): HubMember[];
  /** Who is in `room`, in every process. */
  presence(room: string): Promise<Presence[]>;
  /** Joins and leaves in `room`, in every process, from now on; ends when the hub closes. */
  events(room: string, options?: EventsOptions): AsyncIterableIterator<PresenceEvent>;
  /** Forgets every member (without closing them) and ends every `events()` iteration. */
  close(): Promise<void>;
}

/** Options shared by every hub. */
export interface HubOptions {
  /** This hub's id in presence. **Default:** a random UUID. */
  node?: string;
  /**
   * Bytes handed to a member whose `send` has not settled yet, past which the member is too slow
   * for the room. A message is always handed to a member with nothing pending, however large.
   * **Default:** `4 * 1024 * 1024` (4 MiB).
   */
  maxBacklog?: number;
  /**
   * What happens to a member past `maxBacklog`: `close` removes it from every room and calls its
   * `close(1008, 'too slow')`; `skip` keeps it and skips the messages until it catches up.
   * **Default:** `'close'`.
   */
  slowMember?: 'close' | 'skip';
  /**
   * Events an `events()` iteration holds before it fails with `HubError` (its reader is too
   * slow to keep presence right). **Default:** `10_000`.
   */
  maxQueuedEvents?: number;
}

export const hubDefaults = {
  node: undefined,
  maxBacklog: 4 * 1024 * 1024,
  slowMember: 'close',
  maxQueuedEvents: 10_000,
} satisfies HubOptions;

/** The resolved options; validated once by {@link resolveHubOptions}. */
export interface ResolvedHubOptions {
  node: string;
  maxBacklog: number;
  slowMember: 'close' | 'skip';
  maxQueuedEvents: number;
}

/** Spreads the defaults under `options` and throws `TypeError`/`RangeError` on nonsense. */
export function resolveHubOptions(options: HubOptions): ResolvedHubOptions {
  const o = { ...hubDefaults, ...defined(options) };
  const node = o.node ?? randomUUID();
  if (typeof node !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(node))
    throw new TypeError('node must be 1 to 100 printable ASCII characters without spaces');
  if (!(o.maxBacklog >= 0)) throw new RangeError(`maxBacklog must be >= 0 bytes, got ${o.maxBacklog}`);
  if (o.slowMember !== 'close' && o.slowMember !== 'skip')
    throw new TypeError(`slowMember must be 'close' or 'skip', got ${String(o.slowMember)}`);
  if (!(o.maxQueuedEvents >= 1))
    throw new RangeError(`maxQueuedEvents must be >= 1, got ${o.maxQueuedEvents}`);
  return { node, maxBacklog: o.maxBacklog, slowMember: o.slowMember, maxQueuedEvents: o.maxQueuedEvents };
}

function defined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in options) if (options[key] !== undefined) out[key] = options[key];
  return out;
}

/** What goes on the wire for `message`: strings and bytes as they are, anything else as JSON. */
export function encodeMessage(message: unknown): string | Uint8Array {
  if (typeof message === 'string' || message instanceof Uint8Array) return message;
  if (message instanceof ArrayBuffer) return new Uint8Array(message);
  const json = JSON.stringify(message);
  if (json === undefined) throw new TypeError('message cannot be serialized to JSON');
  return json;
}

/** Bytes `data` takes on the wire. */
export function sizeOf(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

export function checkRoom(room: string): void {
  if (typeof room !== 'string' || room === '') throw new TypeError('room must be a non-empty string');
}

/** One member of this process: its identity, its rooms, and what it has not taken yet. */
interface MemberRecord {
  readonly member: HubMember;
  readonly id: string;
  /** room -> name given at join. */
  readonly rooms: Map<string, string | undefined>;
  /** Sends handed over and not settled. */
  pending: number;
  /** Bytes of those sends. */
  backlog: number;
  /** Size of the oldest unsettled send: a socket settles its sends in order. */
  oldest: number;
  /** Sizes of the younger unsettled sends, from `head` on. Untouched while one send at most is pending. */
  readonly sizes: number[];
  head: number;
  readonly onSent: () => void;
  readonly onFailed: () => void;
}

/**
 * The rooms of one process: what both hubs share. Not API. `onLeave` hears every departure the
 * engine decides itself (closed, failed, slow); `join`/`leave` report theirs to the caller.
 */
export class LocalRooms {
  readonly #rooms = new Map<string, Map<MemberRecord, string | undefined>>();
  readonly #records = new Map<HubMember, MemberRecord>();
  readonly #watched = new WeakSet<object>();
  readonly #options: ResolvedHubOptions;
  readonly #onLeave: (event: PresenceEvent) => void;

  constructor(options: ResolvedHubOptions, onLeave: (event: PresenceEvent) => void) {
    this.#options = options;
    this.#onLeave = onLeave;
  }

  /** Adds the member; `event` is set when it was not in the room yet. */
  join(
    room: string,
    member: HubMember,
    options: JoinOptions = {},
  ): { presence: Presence; event?: PresenceEvent } {
    if (member === null || typeof member !== 'object' || typeof member.send !== 'function')
      throw new TypeError('member must be an object with a send(data) method');
    let rec = this.#records.get(member);
    if (rec !== undefined && options.id !== undefined && options.id !== rec.id)
      throw new TypeError(`member already has id ${rec.id} in this hub, cannot join as ${options.id}`);
    if (rec === undefined) rec = this.#record(member, options.id ?? randomUUID());
    const node = this.#options.node;
    if (rec.rooms.has(room)) return { presence: presenceOf(rec, rec.rooms.get(room), node) };
    const name = options.name;
    rec.rooms.set(room, name);
    let members = this.#rooms.get(room);
    if (members === undefined) this.#rooms.set(room, (members = new Map()));
    members.set(rec, name);
    const presence = presenceOf(rec, name, node);
    return { presence, event: { type: 'join', room, ...presence } };
  }

  /** Removes the member from `room`; the leave event, or undefined when it was not there. */
  leave(room: string, member: HubMember, reason: LeaveReason): PresenceEvent | undefined {
    const rec = this.#records.get(member);
    if (rec === undefined || !rec.rooms.has(room)) return undefined;
    const name = rec.rooms.get(room);
    rec.rooms.delete(room);
    const members = this.#rooms.get(room)!;
    members.delete(rec);
    if (members.size === 0) this.#rooms.delete(room);
    if (rec.rooms.size === 0) this.#records.delete(member);
    return { type: 'leave', room, ...presenceOf(rec, name, this.#options.node), reason };
  }

  /** Removes the member from every room, telling `onLeave` about each. */
  evict(member: HubMember, reason: LeaveReason): void {
    const rec = this.#records.get(member);
    if (rec === undefined) return;
    for (const room of [...rec.rooms.keys()]) {
      const event = this.leave(room, member, reason);
      if (event !== undefined) this.#onLeave(event);
    }
  }

  /**
   * Hands `data` to every member of `room` but `except`, without waiting for any: each send
   * settles on its own, and a failure or a slow member affects that member only.
   */
  dispatch(room: string, data: string | Uint8Array, size: number, except: HubMember | undefined): number {
    const members = this.#rooms.get(room);
    if (members === undefined) return 0;
    const { maxBacklog, slowMember } = this.#options;
    let handed = 0;
    // Deleting from a Map while iterating it is safe: evicted members are simply not visited.
    for (const rec of members.keys()) {
      const member = rec.member;
      if (member === except) continue;
      if (rec.backlog > 0 && rec.backlog + size > maxBacklog) {
        if (slowMember === 'close') this.#dropSlow(rec);
        continue;
      }
      let sent: Promise<void>;
      try {
        sent = member.send(data);
      } catch {
        this.evict(member, 'failed');
        continue;
      }
      if (rec.pending++ === 0) rec.oldest = size;
      else rec.sizes.push(size);
      rec.backlog += size;
      sent.then(rec.onSent, rec.onFailed);
      handed++;
    }
    return handed;
  }

  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  members(room: string): HubMember[] {
    const members = this.#rooms.get(room);
    if (members === undefined) return [];
    return Array.from(members.keys(), (rec) => rec.member);
  }

  presence(room: string): Presence[] {
    const members = this.#rooms.get(room);
    if (members === undefined) return [];
    const node = this.#options.node;
    return Array.from(members, ([rec, name]) => presenceOf(rec, name, node));
  }

  /** Every room with a member here. */
  rooms(): IterableIterator<string> {
    return this.#rooms.keys();
  }

  /** Forgets everyone; returns the leave events (reason `shutdown`) it did not emit. */
  clear(): PresenceEvent[] {
    const events: PresenceEvent[] = [];
    const node = this.#options.node;
    for (const [room, members] of this.#rooms)
      for (const [rec, name] of members)
        events.push({ type: 'leave', room, ...presenceOf(rec, name, node), reason: 'shutdown' });
    this.#rooms.clear();
    this.#records.clear();
    return events;
  }

  #record(member: HubMember, id: string): MemberRecord {
    const settle = (): void => {
      rec.backlog -= rec.oldest;
      if (--rec.pending === 0) {
        if (rec.head > 0) {
          rec.sizes.length = 0;
          rec.head = 0;
        }
        return;
      }
      rec.oldest = rec.sizes[rec.head++]!;
      if (rec.head >= 1024 && rec.head * 2 >= rec.sizes.length) {
        rec.sizes.splice(0, rec.head);
        rec.head = 0;
      }
    };
    const rec: MemberRecord = {
      member,
      id,
      rooms: new Map(),
      pending: 0,
      backlog: 0,
      oldest: 0,
      sizes: [],
      head: 0,
      onSent: settle,
      onFailed: () => {
        settle();
        // A record replaced after the member left every room is not this one: leave it alone.
        if (this.#records.get(member) === rec) this.evict(member, 'failed');
      },
    };
    this.#records.set(member, rec);
    const closed = member.closed;
    if (closed != null && typeof closed.then === 'function' && !this.#watched.has(member)) {
      this.#watched.add(member);
      const gone = (): void => this.evict(member, 'closed');
      closed.then(gone, gone);
    }
    return rec;
  }

  #dropSlow(rec: MemberRecord): void {
    this.evict(rec.member, 'slow');
    try {
      rec.member.close?.(1008, 'too slow');
    } catch {
      // The member is out of every room already; a close that throws changes nothing.
    }
  }
}

function presenceOf(rec: MemberRecord, name: string | undefined, node: string): Presence {
  return name === undefined ? { id: rec.id, node } : { id: rec.id, name, node };
}

/** One `events()` iteration: a bounded queue of events and at most one waiting `next()`. */
class EventQueue implements AsyncIterableIterator<PresenceEvent> {
  readonly #buffer: PresenceEvent[] = [];
  #waiter: { resolve: (r: IteratorResult<PresenceEvent>) => void; reject: (e: unknown) => void } | undefined;
  #done = false;
  #error: unknown;
  readonly #max: number;
  readonly #detach: (queue: EventQueue) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.end(new AbortError(this.#signal?.reason));

  constructor(max: number, detach: (queue: EventQueue) => void, signal: AbortSignal | undefined) {
    this.#max = max;
    this.#detach = detach;
    this.#signal = signal;
    if (signal?.aborted) this.end(new AbortError(signal.reason));
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  push(event: PresenceEvent): void {
    if (this.#done) return;
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve({ value: event, done: false });
    } else if (this.#buffer.length >= this.#max) {
      this.end(new HubError(`more than ${this.#max} presence events waited for their reader`));
    } else this.#buffer.push(event);
  }

  /** Ends the iteration: buffered events are still read, then `error` is thrown (or done). */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#detach(this);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter === undefined) return;
    if (error === undefined) waiter.resolve({ value: undefined, done: true });
    else {
      this.#error = undefined;
      waiter.reject(error);
    }
  }

  next(): Promise<IteratorResult<PresenceEvent>> {
    if (this.#buffer.length > 0) return Promise.resolve({ value: this.#buffer.shift()!, done: false });
    if (this.#done) {
      const error = this.#error;
      this.#error = undefined;
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<PresenceEvent>> {
    this.#buffer.length = 0;
    this.end();
    this.#error = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The open `events()` iterations, by room. Not API. */
export class PresenceFeed {
  readonly #queues = new Map<string, Set<EventQueue>>();
  readonly #max: number;

  constructor(maxQueuedEvents: number) {
    this.#max = maxQueuedEvents;
  }

  open(room: string, signal: AbortSignal | undefined): AsyncIterableIterator<PresenceEvent> {
    let queues = this.#queues.get(room);
    if (queues === undefined) this.#queues.set(room, (queues = new Set()));
    const set = queues;
    const queue = new EventQueue(
      this.#max,
      (q) => {
        set.delete(q);
        if (set.size === 0 && this.#queues.get(room) === set) this.#queues.delete(room);
      },
      signal,
    );
    if (!signal?.aborted) set.add(queue);
    return queue;
  }

  emit(event: PresenceEvent): void {
    const queues = this.#queues.get(event.room);
    if (queues !== undefined) for (const queue of [...queues]) queue.push(event);
  }

  has(room: string): boolean {
    return this.#queues.has(room);
  }

  rooms(): IterableIterator<string> {
    return this.#queues.keys();
  }

  close(): void {
    for (const queues of [...this.#queues.values()]) for (const queue of [...queues]) queue.end();
    this.#queues.clear();
  }
}

/**
 * Rooms in one process. Publishing serializes the message once and hands it to every member
 * without waiting for any of them.
 *
 * @example
 * const hub = new MemoryHub();
 * app.ws('/chat', async (socket) => {
 *   await hub.join('lobby', socket, { name: 'ada' });
 *   for await (const msg of socket) await hub.publish('lobby', { from: 'ada', text: msg.text });
 * });
 */
export class MemoryHub implements Hub {
  readonly node: string;
  readonly #rooms: LocalRooms;
  readonly #feed: PresenceFeed;
  #closed = false;

  constructor(options: HubOptions = {}) {
    const o = resolveHubOptions(options);
    this.node = o.node;
    this.#feed = new PresenceFeed(o.maxQueuedEvents);
    this.#rooms = new LocalRooms(o, (event) => this.#feed.emit(event));
  }

  join(room: string, member: HubMember, options?: JoinOptions): Promise<Presence> {
    try {
      this.#open();
      checkRoom(room);
      const { presence, event } = this.#rooms.join(room, member, options);
      if (event !== undefined) this.#feed.emit(event);
      return Promise.resolve(presence);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  leave(room: string, member: HubMember): Promise<boolean> {
    const event = this.#rooms.leave(room, member, 'left');
    if (event !== undefined) this.#feed.emit(event);
    return Promise.resolve(event !== undefined);
  }

  publish(room: string, message: unknown, options?: PublishOptions): Promise<number> {
    try {
      this.#open();
      const data = encodeMessage(message);
      return Promise.resolve(this.#rooms.dispatch(room, data, sizeOf(data), options?.except));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  members(room: string): HubMember[] {
    return this.#rooms.members(room);
  }

  presence(room: string): Promise<Presence[]> {
    return Promise.resolve(this.#rooms.presence(room));
  }

  events(room: string, options: EventsOptions = {}): AsyncIterableIterator<PresenceEvent> {
    this.#open();
    checkRoom(room);
    return this.#feed.open(room, options.signal);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#rooms.clear();
    this.#feed.close();
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new HubError('the hub is closed');
  }
}
