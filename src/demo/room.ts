/**
 * @module wirekit/demo/room
 * The chat room both kinds of users share, WebSocket (the page) and TCP (telnet, `wirekit
 * connect`): names, presence, the last 100 messages, and the announcements. It talks to its
 * users only through a {@link Hub}, so with a `RedisHub` one room spans several processes.
 */
import { randomUUID } from 'node:crypto';
import type { Hub, HubMember } from '../ws/hub.js';
import { ChatError, chatLimits, checkName, checkText } from './rules.js';

/** A chat message, as published, kept in the history and served by `/api/history`. */
export interface ChatMessage {
  readonly type: 'message';
  /** The sender's id. */
  readonly id: string;
  readonly name: string;
  readonly text: string;
  /** When the room took it, in ms since the epoch. */
  readonly at: number;
}

/** Everything the room publishes: messages and the announcements. */
export type ChatEvent =
  | ChatMessage
  | { readonly type: 'join' | 'leave'; readonly id: string; readonly name: string; readonly at: number }
  | {
      readonly type: 'nick';
      readonly id: string;
      readonly name: string;
      readonly previous: string;
      readonly at: number;
    };

/** Who is online: one entry per user, in every process. */
export interface ChatUserInfo {
  readonly id: string;
  readonly name: string;
}

/** A user in the room: its hub member (a WebSocket, or a TCP user's line writer). */
export interface ChatUser {
  readonly id: string;
  name: string;
  readonly member: HubMember;
}

export interface ChatRoomOptions {
  /** The hub room's name. **Default:** `'lobby'`. */
  room?: string;
  /** Messages kept. **Default:** `100`. */
  history?: number;
}

/**
 * Each process keeps its own history: a member of the room (left out of presence by its id)
 * that records every message this process sees, its own and, through the hub, the others'.
 */
const RECORDER = '~history:';

/** Parses what the hub delivers; the same string reaches every member, so one parse serves all. */
let lastWire: string | undefined;
let lastEvent: ChatEvent | undefined;
export function parseEvent(data: string | Uint8Array): ChatEvent | undefined {
  if (typeof data !== 'string') return undefined;
  if (data !== lastWire) {
    lastWire = data;
    try {
      lastEvent = JSON.parse(data) as ChatEvent;
    } catch {
      lastEvent = undefined;
    }
  }
  return lastEvent;
}

export class ChatRoom {
  readonly hub: Hub;
  readonly room: string;
  readonly #size: number;
  readonly #history: ChatMessage[] = [];
  readonly #users = new Map<HubMember, ChatUser>();
  /** Names (in lower case) of this process's users, and of joins and renames in progress. */
  readonly #claimed = new Set<string>();
  readonly #recorder: HubMember = {
    send: async (data) => {
      const event = parseEvent(data);
      if (event?.type !== 'message') return;
      this.#history.push(event);
      if (this.#history.length > this.#size) this.#history.shift();
    },
  };
  readonly #stop = new AbortController();
  #watching: Promise<void> | undefined;

  constructor(hub: Hub, options: ChatRoomOptions = {}) {
    this.hub = hub;
    this.room = options.room ?? 'lobby';
    this.#size = options.history ?? chatLimits.history;
  }

  /**
   * Joins the recorder and watches for users of processes that went away without saying so
   * (a crash: their presence expires). Rejects when the hub cannot reach its server.
   */
  async start(): Promise<void> {
    await this.hub.join(this.room, this.#recorder, { id: `${RECORDER}${this.hub.node}` });
    await this.hub.presence(this.room);
    this.#watching = this.#watch();
  }

  async #watch(): Promise<void> {
    try {
      for await (const event of this.hub.events(this.room, { signal: this.#stop.signal })) {
        if (event.type !== 'leave' || event.node === this.hub.node || event.id.startsWith(RECORDER)) continue;
        if (event.reason !== 'expired' && event.reason !== 'shutdown') continue;
        // Every process hears the expiry: each tells its own users.
        const leave = JSON.stringify({ type: 'leave', id: event.id, name: event.name ?? '', at: Date.now() });
        for (const member of this.#users.keys()) member.send(leave).catch(() => undefined);
      }
    } catch {
      // The hub closed, or this room stopped watching.
    }
  }

  /** The last messages, oldest first. */
  history(): ChatMessage[] {
    return [...this.#history];
  }

  /** Who is online, in every process, by name. */
  async who(): Promise<ChatUserInfo[]> {
    const presence = await this.hub.presence(this.room);
    return presence
      .filter((p) => !p.id.startsWith(RECORDER))
      .map((p) => ({ id: p.id, name: p.name ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The user of `member`, if it joined. */
  user(member: HubMember): ChatUser | undefined {
    return this.#users.get(member);
  }

  /**
   * Claims `name` in this process at once, so two joins here cannot both take it while presence
   * is read, then checks every process. Resolves with the claim (the name in lower case).
   */
  async #claim(name: string, self?: ChatUser): Promise<string> {
    const folded = name.toLowerCase();
    const own = self !== undefined && self.name.toLowerCase() === folded;
    if (this.#claimed.has(folded) && !own) throw new ChatError('name-taken', `the name ${name} is taken`);
    this.#claimed.add(folded);
    try {
      const users = await this.who();
      if (users.some((u) => u.name.toLowerCase() === folded && u.id !== self?.id))
        throw new ChatError('name-taken', `the name ${name} is taken`);
    } catch (err) {
      if (!own) this.#claimed.delete(folded);
      throw err;
    }
    return folded;
  }

  /**
   * Adds `member` to the room as `name` and announces it. `quiet` leaves the member out of its
   * own announcement (a TCP user is told in its own words). Throws {@link ChatError}.
   */
  async enter(member: HubMember, name: unknown, { quiet = false } = {}): Promise<ChatUser> {
    if (this.#users.has(member)) throw new ChatError('bad-message', 'already in the room');
    const checked = checkName(name);
    const claim = await this.#claim(checked);
    const user: ChatUser = { id: randomUUID(), name: checked, member };
    this.#users.set(member, user);
    try {
      await this.hub.join(this.room, member, { id: user.id, name: user.name });
    } catch (err) {
      this.#users.delete(member);
      this.#claimed.delete(claim);
      throw err;
    }
    await this.#publish(
      { type: 'join', id: user.id, name: user.name, at: Date.now() },
      quiet ? member : undefined,
    );
    return user;
  }

  /** Publishes `text` from `user`; `quiet` leaves the sender out (a terminal shows what it typed). */
  async say(user: ChatUser, text: unknown, { quiet = false } = {}): Promise<ChatMessage> {
    const message: ChatMessage = {
      type: 'message',
      id: user.id,
      name: user.name,
      text: checkText(text),
      at: Date.now(),
    };
    await this.#publish(message, quiet ? user.member : undefined);
    return message;
  }

  /** Renames `user` (presence too) and announces it to everyone, the user included. */
  async rename(user: ChatUser, name: unknown): Promise<void> {
    const checked = checkName(name);
    if (checked === user.name) return;
    const claim = await this.#claim(checked, user);
    const previous = user.name;
    if (previous.toLowerCase() !== claim) this.#claimed.delete(previous.toLowerCase());
    user.name = checked;
    // The hub keeps a name per presence entry: join again under the new one.
    await this.hub.leave(this.room, user.member);
    await this.hub.join(this.room, user.member, { id: user.id, name: checked });
    await this.#publish({ type: 'nick', id: user.id, name: checked, previous, at: Date.now() });
  }

  /** Takes `member` out of the room and announces it; a no-op for one that never joined. */
  async exit(member: HubMember): Promise<void> {
    const user = this.#users.get(member);
    if (user === undefined) return;
    this.#users.delete(member);
    this.#claimed.delete(user.name.toLowerCase());
    await this.hub.leave(this.room, member).catch(() => false);
    await this.#publish({ type: 'leave', id: user.id, name: user.name, at: Date.now() }).catch(() => 0);
  }

  #publish(event: ChatEvent, except?: HubMember): Promise<number> {
    return this.hub.publish(this.room, event, except === undefined ? undefined : { except });
  }

  /** Stops watching presence; the hub itself is the caller's to close. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#watching;
    await this.hub.leave(this.room, this.#recorder).catch(() => false);
  }
}
