/**
 * @module wirekit/demo/server
 * The chat demo's wiring (what `wirekit demo` and `npm start` run): one {@link ChatRoom} on a
 * hub, served to browsers by an App (the page, `/ws`, `/api/history`, `/hello`) and to
 * terminals by a TCP server. With `redis`, the room is shared with every other process on it.
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { listen } from '../net/tcp.js';
import { App } from '../server/app.js';
import type { AppServer } from '../server/listen.js';
import { workerCount } from '../server/workers.js';
import { type Hub, MemoryHub } from '../ws/hub.js';
import { RedisHub } from '../ws/redis-hub.js';
import { ChatRoom } from './room.js';
import { CHAT_MAX_LINE, tcpUsers } from './tcp-users.js';
import { CHAT_MAX_PAYLOAD, wsUsers } from './ws-users.js';

/** The page: plain files beside this module (the build copies them next to the compiled one). */
export const pageDir = fileURLToPath(new URL('./page/', import.meta.url));

/** The page runs only its own script and talks only to its own origin. */
const pageHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export interface ChatServerOptions {
  /** Address of both servers. **Default:** `'127.0.0.1'`. */
  host?: string;
  /** Port of the web server; 0 picks a free one. **Default:** `8080`. */
  httpPort?: number;
  /** Port of the TCP server; 0 picks a free one. **Default:** `9999`. */
  tcpPort?: number;
  /** A redis URL: share the room with the other processes on it. **Default:** none (one process). */
  redis?: string;
  /** Processes serving both ports (node:cluster); more than 1 needs `redis`. **Default:** `1`. */
  workers?: number | 'auto';
  /** The first line a TCP user gets. **Default:** `'Welcome to my server!'` (the seed programs'). */
  banner?: string;
  /** Milliseconds `close()` gives connections to finish. **Default:** `2_000`. */
  closeTimeout?: number;
}

export const chatServerDefaults = {
  host: '127.0.0.1',
  httpPort: 8080,
  tcpPort: 9999,
  redis: undefined,
  workers: 1,
  banner: 'Welcome to my server!',
  closeTimeout: 2_000,
} satisfies ChatServerOptions;

export interface ChatServer {
  readonly http: AppServer;
  /** Where the TCP server listens. */
  readonly tcp: { readonly address: string; readonly port: number };
  /** The room; `undefined` in the primary of several workers (the workers hold the rooms). */
  readonly room: ChatRoom | undefined;
  /** WebSockets get 1001, TCP users a goodbye line; then the hub closes. */
  close(): Promise<void>;
}

/** The App of the chat: the page at `/`, the WebSocket at `/ws`, the history, Hello World. */
export function chatApp(room: ChatRoom): App {
  return new App()
    .get('/hello', () => 'Hello World!')
    .get('/api/history', () => room.history())
    .ws('/ws', { maxPayload: CHAT_MAX_PAYLOAD }, wsUsers(room))
    .static('/', pageDir, { headers: pageHeaders });
}

const TCP_LISTENING = 'wirekit:demo:tcp';

/**
 * Starts the chat. With `workers` > 1, in the primary it forks the workers (each runs the same
 * program and so calls `startChat` too) and only supervises.
 *
 * @example
 * const chat = await startChat({ httpPort: 0, tcpPort: 0 });
 * console.log(chat.http.url, chat.tcp.port);
 * await chat.close();
 */
export async function startChat(options: ChatServerOptions = {}): Promise<ChatServer> {
  const o = { ...chatServerDefaults, ...options };
  const workers = workerCount(o.workers);
  if (workers > 1 && o.redis === undefined)
    throw new TypeError(
      'several workers need redis: each is its own process, and the room is shared through it',
    );
  if (workers > 1 && cluster.isPrimary) return supervise(o.host, o.httpPort, workers, o.closeTimeout);
  const hub: Hub =
    o.redis === undefined ? new MemoryHub() : new RedisHub({ url: o.redis, connectTimeout: 5_000 });
  const room = new ChatRoom(hub);
  const stops: Array<() => Promise<unknown>> = [() => hub.close()];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    await room.start();
    stops.push(() => room.close());
    const users = tcpUsers(room, o.banner);
    const tcp = await listen({ host: o.host, port: o.tcpPort, limit: CHAT_MAX_LINE }, users.handler);
    stops.push(() => {
      users.close();
      return tcp.close({ timeout: o.closeTimeout });
    });
    // The app's close (Ctrl+C, or the primary's word to a worker) ends the rest: WebSockets
    // first, while the hub still carries their goodbyes, then the TCP users, then the hub.
    const app = chatApp(room).onShutdown(stopAll);
    if (cluster.isWorker) process.send?.({ type: TCP_LISTENING, ...tcp.address });
    const http = await app.listen({ host: o.host, port: o.httpPort, workers });
    return { http, tcp: tcp.address, room, close: () => http.close({ timeout: o.closeTimeout }) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function supervise(
  host: string,
  httpPort: number,
  workers: number,
  timeout: number,
): Promise<ChatServer> {
  let tcp: { address: string; port: number } | undefined;
  const onMessage = (_worker: unknown, message: { type?: string; address?: string; port?: number }) => {
    if (message?.type === TCP_LISTENING)
      tcp ??= { address: String(message.address), port: Number(message.port) };
  };
  cluster.on('message', onMessage);
  // A worker reports its TCP port before its web server's: both are known once listen resolves.
  const http = await new App().listen({ host, port: httpPort, workers });
  cluster.off('message', onMessage);
  return {
    http,
    tcp: tcp ?? { address: host, port: 0 },
    room: undefined,
    close: () => http.close({ timeout }),
  };
}
