/**
 * @module wirekit/demo/ws-users
 * The page's side of the chat: one WebSocket per tab, speaking JSON (docs/demo.md lists every
 * message). The socket itself is the hub member: what the room publishes reaches it as is.
 */
import type { WebSocketHandler } from '../ws/server.js';
import type { WebSocket } from '../ws/socket.js';
import type { ChatRoom } from './room.js';
import { ChatError, chatLimits, RateLimit } from './rules.js';

/** Largest WebSocket message the chat reads: a 2,000-character text, JSON-escaped, fits. */
export const CHAT_MAX_PAYLOAD = 16 * 1024;

interface Incoming {
  type?: unknown;
  name?: unknown;
  text?: unknown;
}

function send(socket: WebSocket, message: object): Promise<void> {
  return socket.send(JSON.stringify(message));
}

function sendError(socket: WebSocket, err: unknown): Promise<void> {
  if (err instanceof ChatError) return send(socket, { type: 'error', code: err.code, message: err.message });
  // The hub failed (redis away): the user may try again.
  const message = err instanceof Error ? err.message : String(err);
  return send(socket, { type: 'error', code: 'unavailable', message });
}

/** The handler of the `/ws` route. */
export function wsUsers(room: ChatRoom): WebSocketHandler {
  return async (socket) => {
    const limit = new RateLimit();
    try {
      // Before picking a name, a tab already sees the room: its history and who is online.
      await send(socket, { type: 'history', messages: room.history() });
      await send(socket, { type: 'who', users: await room.who() });
      for await (const message of socket) {
        if (message.type === 'binary') return void (await socket.close(1003, 'text messages only'));
        if (!limit.take()) {
          if (limit.refused >= chatLimits.maxRefused) return void (await socket.close(1008, 'flooding'));
          if (limit.refused === 1) await sendError(socket, new ChatError('too-fast', 'slow down'));
          continue;
        }
        try {
          await handle(room, socket, message.text);
        } catch (err) {
          await sendError(socket, err);
        }
      }
    } finally {
      await room.exit(socket);
    }
  };
}

async function handle(room: ChatRoom, socket: WebSocket, text: string): Promise<void> {
  let data: Incoming;
  try {
    data = JSON.parse(text) as Incoming;
  } catch {
    throw new ChatError('bad-message', 'a message must be JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ChatError('bad-message', 'a message must be a JSON object');
  const user = room.user(socket);
  switch (data.type) {
    case 'join': {
      const joined = await room.enter(socket, data.name);
      await send(socket, { type: 'welcome', id: joined.id, name: joined.name });
      return send(socket, { type: 'who', users: await room.who() });
    }
    case 'who':
      return send(socket, { type: 'who', users: await room.who() });
    case 'message':
    case 'nick':
      if (user === undefined) throw new ChatError('not-joined', 'pick a name first');
      if (data.type === 'nick') return room.rename(user, data.name);
      return void (await room.say(user, data.text));
    default:
      throw new ChatError('bad-message', 'type must be join, message, nick or who');
  }
}
