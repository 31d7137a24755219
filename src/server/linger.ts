/**
 * @module wirekit/server/linger
 * Lingering close: a response that ends the connection while the client is still sending its
 * body (a 413 for an upload past the limit) must not be followed by an immediate close of the
 * socket. Closing a socket with unread bytes makes the kernel send a reset, and a reset makes
 * the client's kernel drop what it had not yet read, the 413 included: the client (or the
 * nginx in front) then sees a broken connection, not the answer. As nginx and Apache do, the
 * server sends its FIN, reads and discards what still comes for a bounded time, and closes once
 * the client has closed its side or the time is up.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** Longest time, in ms, a closing connection goes on reading and discarding the request body. */
export const LINGER_MS = 2_000;

const lingering = new WeakSet<Socket>();

/**
 * Makes the close node performs after this response a lingering one, when the request body has
 * not all arrived. HTTP/2 streams end on their own and are left alone.
 */
export function lingerOnClose(req: IncomingMessage): void {
  if (req.complete || req.httpVersionMajor >= 2) return;
  const socket = req.socket as (Socket & { destroySoon?: () => void }) | null;
  if (socket === null || lingering.has(socket)) return;
  lingering.add(socket);
  // node closes a `Connection: close` exchange with destroySoon(): end, then destroy once the
  // FIN is out. This keeps the end and lets the client's close (or the deadline) destroy.
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    // The rest of the body goes to node's parser, which discards it for a request nobody reads.
    this.resume();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}
