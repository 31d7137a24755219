/**
 * @module wirekit/demo/tcp-users
 * The terminal's side of the chat: one TCP connection per user (telnet, `wirekit connect`),
 * one line per message. Users start as `guest-NNNN`; `/nick NAME`, `/who`, `/quit`, `/help`.
 */
import { randomInt } from 'node:crypto';
import { LimitExceededError } from '../errors.js';
import type { ConnectionHandler } from '../net/tcp.js';
import type { Stream } from '../net/stream.js';
import type { HubMember } from '../ws/hub.js';
import { type ChatEvent, type ChatRoom, type ChatUserInfo, parseEvent } from './room.js';
import { ChatError, chatLimits, RateLimit } from './rules.js';

/** Longest line a TCP user may send, in bytes: a 2,000-character message in any script fits. */
export const CHAT_MAX_LINE = 8 * 1024;

const HELP = '* /nick NAME renames you, /who lists who is here, /quit leaves; any other line is a message';

/** One line of text for what the room published. */
export function renderLine(event: ChatEvent): string {
  switch (event.type) {
    case 'message':
      return `[${event.name}] ${event.text}\n`;
    case 'join':
      return `* ${event.name} joined\n`;
    case 'leave':
      return `* ${event.name} left\n`;
    case 'nick':
      return `* ${event.previous} is now known as ${event.name}\n`;
  }
}

export function whoLine(users: ChatUserInfo[]): string {
  return `* ${users.length} online: ${users.map((u) => u.name).join(', ')}\n`;
}

const RESOLVED = Promise.resolve();

/** A TCP user as a hub member: what the room publishes becomes lines on the connection. */
class LineMember implements HubMember {
  readonly #stream: Stream;
  constructor(stream: Stream) {
    this.#stream = stream;
  }

  send(data: string | Uint8Array): Promise<void> {
    const event = parseEvent(data);
    return event === undefined ? RESOLVED : this.#stream.write(renderLine(event));
  }

  get closed(): Promise<void> {
    return this.#stream.closed;
  }

  /** Says why in a last line, then closes once it was sent (the hub's `close(1008, 'too slow')`). */
  close(_code?: number, reason = ''): void {
    this.#stream.write(reason === '' ? '* bye\n' : `* ${reason}, bye\n`).catch(() => undefined);
    this.#stream.close();
  }
}

async function enterAsGuest(room: ChatRoom, member: HubMember) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await room.enter(member, `guest-${randomInt(1000, 10_000)}`, { quiet: true });
    } catch (err) {
      if (!(err instanceof ChatError && err.code === 'name-taken') || attempt === 5) throw err;
    }
  }
}

/** The TCP handler, and `close()` to say goodbye to every user before the server stops. */
export function tcpUsers(room: ChatRoom, banner: string): { handler: ConnectionHandler; close(): void } {
  const members = new Set<LineMember>();
  const handler: ConnectionHandler = async (stream) => {
    const member = new LineMember(stream);
    members.add(member);
    try {
      await stream.write(`${banner}\n`);
      const user = await enterAsGuest(room, member);
      await stream.write(`* you are ${user.name}. ${HELP.slice(2)}\n`);
      await stream.write(whoLine(await room.who()));
      const limit = new RateLimit();
      for (;;) {
        const line = await stream.readLine();
        if (line === null) return;
        if (line.trim() === '') continue;
        if (!limit.take()) {
          if (limit.refused >= chatLimits.maxRefused) return member.close(1008, 'flooding');
          if (limit.refused === 1) await stream.write('* slow down\n');
          continue;
        }
        if ((await command(room, member, stream, line)) === 'quit') return member.close(1000);
      }
    } catch (err) {
      if (err instanceof LimitExceededError) return member.close(1009, 'line too long');
      // A connection that dropped or was cut is an ordinary end.
      if (!stream.isClosed) throw err;
    } finally {
      members.delete(member);
      await room.exit(member);
    }
  };
  return {
    handler,
    close() {
      for (const member of members) member.close(1001, 'the server is shutting down');
    },
  };
}

/** Runs one line: a command or a message. */
async function command(
  room: ChatRoom,
  member: HubMember,
  stream: Stream,
  line: string,
): Promise<'quit' | void> {
  const user = room.user(member);
  if (user === undefined) return 'quit';
  const [word = '', ...rest] = line.trim().split(' ');
  try {
    if (!line.startsWith('/')) await room.say(user, line, { quiet: true });
    else if (word === '/quit') return 'quit';
    else if (word === '/who') await stream.write(whoLine(await room.who()));
    else if (word === '/nick') await room.rename(user, rest.join(' '));
    else if (word === '/help') await stream.write(`${HELP}\n`);
    else await stream.write(`* unknown command ${word.slice(0, 32).replace(/\p{C}/gu, '')} (try /help)\n`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await stream.write(`* ${err instanceof ChatError ? '' : 'not sent: '}${message}\n`);
  }
}
