/**
 * A WebSocket client for load generators that must stay lighter than the server they measure:
 * the handshake written by hand over node:net, then frames parsed byte by byte from one shared
 * read buffer (`onread`). Of a data message it keeps only its length and its first four bytes
 * (a sequence number, little-endian); pings are answered, a close frame is answered and ends
 * the connection. What it sends is masked with a zero key (legal, and the payload stays as is).
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

const HEADER0 = 0;
const HEADER1 = 1;
const EXTENDED = 2;
const PAYLOAD = 3;
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
// One buffer serves every connection: each read is handed to its callback before the next read.
const readBuffer = Buffer.allocUnsafe(256 * 1024);

export class RawClient {
  readonly socket: net.Socket;
  /** Called for every whole data message: its first four bytes (LE) and its length. */
  onMessage: (seq: number, length: number) => void = () => {};
  /** Called once with the reason the connection ended (a close frame, a reset, a bad frame). */
  onEnd: (reason: string) => void = () => {};
  /** Resolves once the 101 arrived; rejects on any other answer or a socket error. */
  readonly opened: Promise<void>;
  /** Resolves once the connection closed. */
  readonly closed: Promise<void>;
  #head = '';
  #open = false;
  #ended = false;
  #closeSent = false;
  #phase = HEADER0;
  #opcode = 0;
  #extended = 0;
  #remaining = 0;
  #length = 0;
  #seqBytes = 0;
  #seq = 0;
  #control: number[] = [];

  constructor(port: number, path = '/') {
    let resolveOpen: () => void;
    let rejectOpen: (err: Error) => void;
    this.opened = new Promise((resolve, reject) => {
      resolveOpen = resolve;
      rejectOpen = reject;
    });
    const socket = net.connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (nread: number, buffer: Uint8Array): boolean => {
          if (this.#open) this.#feed(buffer, 0, nread);
          else this.#handshake(buffer, nread, resolveOpen, rejectOpen);
          return true;
        },
      },
    });
    this.socket = socket;
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', (err) => {
      rejectOpen(err);
      this.#end(`socket error: ${err.message}`);
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        rejectOpen(new Error('closed before the handshake'));
        this.#end('the connection closed');
        resolve();
      }),
    );
  }

  /** Sends `payload` as one binary message. */
  send(payload: Buffer): void {
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x82, 0x80 | length, 0, 0, 0, 0])
        : Buffer.from([0x82, 0x80 | 126, length >> 8, length & 0xff, 0, 0, 0, 0]);
    if (length >= 65536) throw new RangeError('RawClient sends messages under 64 KiB');
    this.socket.cork();
    this.socket.write(header);
    this.socket.write(payload);
    this.socket.uncork();
  }

  /** Starts the closing handshake (1000); `closed` resolves once the server closed too. */
  close(): Promise<void> {
    if (!this.socket.destroyed && this.#open && !this.#closeSent) {
      this.#closeSent = true;
      this.socket.write(CLOSE_FRAME);
    } else if (!this.#open) this.socket.destroy();
    return this.closed;
  }

  #handshake(buffer: Uint8Array, nread: number, resolve: () => void, reject: (e: Error) => void): void {
    this.#head += Buffer.from(buffer.buffer, buffer.byteOffset, nread).toString('latin1');
    const end = this.#head.indexOf('\r\n\r\n');
    if (end === -1) return;
    const status = this.#head.slice(0, this.#head.indexOf('\r\n'));
    if (!status.startsWith('HTTP/1.1 101')) {
      reject(new Error(`handshake refused: ${status}`));
      this.socket.destroy();
      return;
    }
    this.#open = true;
    resolve();
    // Frames that came in the same read as the end of the head (latin1: one char per byte).
    const after = this.#head.length - (end + 4);
    this.#head = '';
    if (after > 0) this.#feed(buffer, nread - after, nread);
  }

  #feed(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      switch (this.#phase) {
        case HEADER0: {
          const b = buf[i++] as number;
          this.#opcode = b & 0x0f;
          if ((b & 0x80) === 0) return this.#fail('a fragmented message (the bench sends whole ones)');
          this.#phase = HEADER1;
          break;
        }
        case HEADER1: {
          const b = buf[i++] as number;
          if ((b & 0x80) !== 0) return this.#fail('a masked frame from the server');
          const length = b & 0x7f;
          if (length >= 126) {
            this.#extended = length === 126 ? 2 : 8;
            this.#remaining = 0;
            this.#phase = EXTENDED;
          } else this.#payload(length);
          break;
        }
        case EXTENDED:
          this.#remaining = this.#remaining * 256 + (buf[i++] as number);
          if (--this.#extended === 0) this.#payload(this.#remaining);
          break;
        default: {
          const take = Math.min(this.#remaining, end - i);
          if (this.#opcode >= 8) {
            for (let k = 0; k < take; k++) this.#control.push(buf[i + k] as number);
          } else {
            for (let k = 0; k < take && this.#seqBytes < 4; k++) {
              this.#seq += (buf[i + k] as number) * 2 ** (8 * this.#seqBytes++);
            }
          }
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#frame();
        }
      }
    }
  }

  #payload(length: number): void {
    this.#length = length;
    this.#remaining = length;
    this.#seqBytes = 0;
    this.#seq = 0;
    this.#control.length = 0;
    if (length === 0) this.#frame();
    else this.#phase = PAYLOAD;
  }

  #frame(): void {
    this.#phase = HEADER0;
    switch (this.#opcode) {
      case 1:
      case 2:
        this.onMessage(this.#seq, this.#length);
        return;
      case 8:
        this.#end('the server sent a close frame');
        // Answer the server's close; if this end started it, the server is answering ours.
        if (this.#closeSent) this.socket.end();
        else if (!this.socket.destroyed) this.socket.end(CLOSE_FRAME);
        this.#closeSent = true;
        return;
      case 9: {
        const payload = Buffer.from(this.#control);
        this.socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
        return;
      }
      case 10:
        return;
      default:
        this.#fail(`a frame with opcode ${this.#opcode}`);
    }
  }

  #fail(reason: string): void {
    this.#end(reason);
    this.socket.destroy();
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd(reason);
  }
}

/** Opens `count` clients, at most `parallel` handshakes at a time; rejects on the first failure. */
export async function openClients(
  port: number,
  count: number,
  parallel = 100,
  path = '/',
): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const client = new RawClient(port, path);
      clients.push(client);
      await client.opened;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return clients;
}
