/** Helpers for the WebSocket tests: apps on port 0, raw handshakes and frames over node:net. */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { App, type AppServer, type ListenOptions } from '../../src/server/index.js';
import { connectWebSocket, type ConnectWebSocketOptions, type WebSocket } from '../../src/ws/index.js';

export { within } from '../net/tcp-helpers.js';

/** Listens on port 0; closed (quickly) when the test ends. */
export async function serve(t: TestContext, app: App, options: ListenOptions = {}): Promise<AppServer> {
  const server = await app.listen({ port: 0, ...options });
  t.after(() => server.close({ timeout: 500 }));
  return server;
}

/** A client WebSocket to `path` on `server`, terminated when the test ends. */
export async function connect(
  t: TestContext,
  server: AppServer,
  path: string,
  options?: ConnectWebSocketOptions,
): Promise<WebSocket> {
  const socket = await connectWebSocket(`ws://127.0.0.1:${server.port}${path}`, options);
  t.after(() => socket.terminate());
  return socket;
}

/** An app with one echo route at /echo (route options as given). */
export function echoApp(options: Parameters<App['ws']>[1] | undefined = undefined): App {
  const handler = async (socket: WebSocket) => {
    for await (const message of socket) await socket.send(message);
  };
  return options === undefined || typeof options === 'function'
    ? new App().ws('/echo', handler)
    : new App().ws('/echo', options, handler);
}

/** A WebSocket opening handshake written by hand (extra headers as given, raw). */
export function handshake(path: string, extra = ''): string {
  const key = randomBytes(16).toString('base64');
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

/** A raw TCP connection that sent `head` and read the server's answer head. */
export interface RawPeer {
  socket: net.Socket;
  /** The answer's status code. */
  status: number;
  /** The whole answer head (status line and headers). */
  head: string;
  /** Bytes after the head received so far (frames, or an error body). */
  rest: Buffer;
  /** Resolves with everything received after the head once the server closed the connection. */
  ended: Promise<Buffer>;
}

export async function rawPeer(t: TestContext, port: number, head: string | Buffer): Promise<RawPeer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  t.after(() => socket.destroy());
  socket.write(head);
  const chunks: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  let all = Buffer.alloc(0);
  for (;;) {
    all = Buffer.concat(chunks);
    if (all.includes('\r\n\r\n')) break;
    const more = await Promise.race([
      new Promise<boolean>((resolve) => socket.once('data', () => resolve(true))),
      closed.then(() => false),
    ]);
    if (!more && !Buffer.concat(chunks).includes('\r\n\r\n')) throw new Error('closed before an answer head');
  }
  const end = all.indexOf('\r\n\r\n');
  const text = all.toString('latin1', 0, end);
  const skip = end + 4;
  return {
    socket,
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]),
    head: text,
    rest: all.subarray(skip),
    ended: closed.then(() => Buffer.concat(chunks).subarray(skip)),
  };
}

/** One WebSocket frame: client frames are masked unless `mask: false`. */
export function frame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  { fin = true, mask = true, rsv = 0 }: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? length : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(length, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([head, data]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const masked = Buffer.from(data);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([head, masked]);
}

/** A close frame's payload: the code and reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/** The unmasked frames (the server's) in `data`: opcode and payload of each. */
export function parseFrames(data: Buffer): Array<{ opcode: number; payload: Buffer }> {
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let i = 0;
  while (i + 2 <= data.length) {
    const opcode = (data[i] as number) & 0x0f;
    let length = (data[i + 1] as number) & 0x7f;
    let at = i + 2;
    if (length === 126) {
      length = data.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    if (at + length > data.length) break;
    frames.push({ opcode, payload: data.subarray(at, at + length) });
    i = at + length;
  }
  return frames;
}

/** The close code of the first close frame in `data`, or undefined. */
export function closeCodeIn(data: Buffer): number | undefined {
  const close = parseFrames(data).find((f) => f.opcode === 0x8);
  return close === undefined || close.payload.length < 2 ? undefined : close.payload.readUInt16BE(0);
}
