/**
 * @module wirekit/server/upgrade
 * HTTP/1.1 Upgrade requests (node's `'upgrade'` event): the socket leaves node's HTTP parser,
 * so the answers a refused upgrade gets are written here, through a ServerResponse attached to
 * that socket, and the connection closes after them.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Context } from './context.js';

/** Whether the request asks for a WebSocket (`Upgrade: websocket`, any case). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.toLowerCase() === 'websocket';
}

/**
 * A ServerResponse for an upgrade request, not yet on its socket: {@link attachSocket} puts it
 * there when an HTTP answer must be written (whatever is written then goes out with
 * `Connection: close`, and the socket closes once it is out), or when someone listens for its
 * `'close'` (an access log) once the WebSocket is open. An upgraded socket that nobody needs
 * the response for is left without it, which keeps its listener tables small.
 */
export function upgradeResponse(req: IncomingMessage): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.once('finish', endSocket);
  return res;
}

/** Puts `res` on `socket` (once). */
export function attachSocket(res: ServerResponse, socket: Duplex): void {
  if (res.socket === null) res.assignSocket(socket as Socket);
}

function endSocket(this: ServerResponse): void {
  const socket = this.socket;
  if (socket === null) return;
  socket.once('finish', socket.destroy);
  socket.end();
}

/** Ignores an upgrade socket's errors until its new owner (ws) listens: a reset must not crash. */
export function ignoreError(): void {}

/** The raw answer to an upgrade while the server shuts down: 503, and the socket closed. */
export function refuseUpgrade(socket: Duplex): void {
  socket.on('error', ignoreError);
  const body = 'Service Unavailable: the server is shutting down\n';
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}

/** Headers the handshake itself writes: middleware cannot set these on a 101. */
const HANDSHAKE = new Set([
  'upgrade',
  'connection',
  'content-length',
  'transfer-encoding',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * The headers middleware set on `ctx` (`ctx.set()`, cookies) as `name: value` lines for the
 * 101 answer, which ws writes raw: a CR, LF or NUL in one is refused (TypeError, a 500).
 */
export function upgradeHeaders(ctx: Context): string[] {
  const lines: string[] = [];
  const add = (name: string, value: string) => {
    if (/[\r\n\0]/.test(name + value)) throw new TypeError(`header ${name} has a CR, LF or NUL`);
    lines.push(`${name}: ${value}`);
  };
  for (const [name, value] of Object.entries(ctx.responseHeaders ?? {})) {
    if (HANDSHAKE.has(name)) continue;
    for (const one of [value].flat()) add(name, String(one));
  }
  if (ctx.hasCookies) for (const cookie of ctx.cookies.outgoing) add('set-cookie', cookie);
  return lines;
}
