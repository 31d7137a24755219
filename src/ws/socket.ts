/**
 * @module wirekit/ws/socket
 * `WebSocket`: one open WebSocket connection, the same type on the server and the client.
 * Messages are read by async iteration, with backpressure both ways; frames are ws's.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConcurrentReadError, WebSocketClosedError } from '../errors.js';
import { type RawWebSocket, type RawWebSocketClass, ws } from './engine.js';
import { BEAT, type Beating, heartbeat } from './heartbeat.js';

/** One received message. `text` decodes `data` as UTF-8 on first read, once. */
export class Message {
  readonly type: 'text' | 'binary';
  /** The payload as received (a text message's UTF-8 bytes). */
  readonly data: Buffer;
  #text: string | undefined;

  constructor(type: 'text' | 'binary', data: Buffer) {
    this.type = type;
    this.data = data;
  }

  /** The payload as a string (decoded on first read; for a binary message, as UTF-8). */
  get text(): string {
    return (this.#text ??= this.data.toString());
  }

  /** The payload parsed as JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }
}

/** How a WebSocket closed: the close code and reason (the peer's, or what this end sent on an error). */
export interface CloseInfo {
  /** 1000 normal, 1001 going away, 1005 no code given, 1006 dropped, 1009 too big... */
  code: number;
  reason: string;
  /** Whether both ends exchanged close frames (false for 1006 and for protocol errors). */
  wasClean: boolean;
}

/** What `send()` takes: text as a string, binary as bytes, or a received Message as it came. */
export type WebSocketData = string | Buffer | Uint8Array | ArrayBuffer | Message;

/** @internal Per-route (or per-connect) settings, shared by the sockets they made. */
export interface SocketSettings {
  /** `send()` resolves at once while `bufferedAmount` is below this, in bytes. */
  sendHighWaterMark: number;
  /** Messages queued unread before reading from the connection pauses. */
  receiveHighWaterMark: number;
  /** Heartbeat period in ms; 0: none. */
  heartbeat: number;
}

/** @internal Throws a RangeError unless `value` is a safe integer of at least `min`. */
export function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  }
}

/** @internal The counted options both ends take, checked the same way on both. */
export function checkSocketOptions(o: {
  maxPayload: number;
  maxFragments: number;
  heartbeat: number;
  closeTimeout: number;
  sendHighWaterMark: number;
  receiveHighWaterMark: number;
}): void {
  checkCount('maxPayload', o.maxPayload, 1);
  checkCount('maxFragments', o.maxFragments, 1);
  checkCount('heartbeat', o.heartbeat, 0);
  checkCount('closeTimeout', o.closeTimeout, 1);
  checkCount('sendHighWaterMark', o.sendHighWaterMark, 0);
  checkCount('receiveHighWaterMark', o.receiveHighWaterMark, 1);
}

type Owned = RawWebSocket & { [OWNER]?: WebSocket };

/** @internal What holds a socket until it closes (a server's set of open sockets). */
export interface SocketHolder {
  forget(socket: WebSocket): void;
}

/** @internal The key of a socket's holder. */
export const HOLDER: unique symbol = Symbol('wirekit.ws.holder');

const OWNER: unique symbol = Symbol('wirekit.ws.owner');
const OPEN = 1;
const PAUSED = 1;
const CLOSED_HERE = 2;
const AWAITING_PONG = 4;
const CLOSING = 2;
const TEXT = Object.freeze({ binary: false });
const BINARY = Object.freeze({ binary: true });
const RESOLVED: Promise<void> = Promise.resolve();
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const EMPTY_REASON = Buffer.alloc(0);

/** The close codes after which iteration ends quietly: normal, going away, no status. */
function isNormal(code: number): boolean {
  return code === 1000 || code === 1001 || code === 1005;
}

/** The close code ws sent for a receiver error (its `WS_ERR_*` codes). */
function codeOfError(err: unknown): number {
  switch ((err as { code?: unknown } | null)?.code) {
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 1009;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    default:
      return 1002;
  }
}

/** Codes an application may send in a close frame (RFC 6455 7.4, and the IANA registry). */
function checkCloseCode(code: number): void {
  const valid =
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999));
  if (!valid) throw new RangeError(`invalid WebSocket close code ${code}`);
}

interface PendingPing {
  payload: Buffer;
  start: number;
  resolve: (ms: number) => void;
  reject: (err: unknown) => void;
}

let pingCounter = 0;

/**
 * An open WebSocket: iterate it for messages, `send()` with backpressure, `close()`.
 * `app.ws()` hands one to its handler; `connectWebSocket()` and `session.ws()` return one.
 *
 * Incoming messages queue until read; past `receiveHighWaterMark` unread messages, reading
 * from the connection pauses (the peer's sends then wait in TCP) and resumes as they are read.
 * Iteration ends after a normal close (1000, 1001, 1005) or a close this end started, and throws
 * WebSocketClosedError after any other (1006, 1009...), once every queued message was read.
 *
 * @example
 * app.ws('/echo', async (socket) => {
 *   for await (const message of socket) await socket.send(message);
 * });
 */
export class WebSocket implements AsyncIterable<Message>, Beating {
  readonly #raw: Owned;
  readonly #socket: Socket;
  readonly #settings: SocketSettings;
  #queue: Message[] | null = null;
  /** The waiting read's resolve (an error is delivered as a rejected promise through it). */
  #resolveNext: ((result: IteratorResult<Message> | PromiseLike<IteratorResult<Message>>) => void) | null =
    null;
  /** PAUSED | CLOSED_HERE | AWAITING_PONG: one small integer rather than three fields. */
  #flags = 0;
  #info: CloseInfo | null = null;
  #closed: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;
  /** What this end closed with because of the peer (a protocol error, a dead heartbeat). */
  #fail: CloseInfo | null = null;
  #pings: PendingPing[] | null = null;
  /** @internal */
  [HOLDER]: SocketHolder | undefined = undefined;

  get #paused(): boolean {
    return (this.#flags & PAUSED) !== 0;
  }
  set #paused(value: boolean) {
    this.#flags = value ? this.#flags | PAUSED : this.#flags & ~PAUSED;
  }
  get #closedHere(): boolean {
    return (this.#flags & CLOSED_HERE) !== 0;
  }
  set #closedHere(value: boolean) {
    this.#flags = value ? this.#flags | CLOSED_HERE : this.#flags & ~CLOSED_HERE;
  }
  get #awaitingPong(): boolean {
    return (this.#flags & AWAITING_PONG) !== 0;
  }
  set #awaitingPong(value: boolean) {
    this.#flags = value ? this.#flags | AWAITING_PONG : this.#flags & ~AWAITING_PONG;
  }

  /** @internal Wraps an open ws socket; use `app.ws()`, `connectWebSocket()` or `session.ws()`. */
  constructor(raw: RawWebSocket, socket: Socket, settings: SocketSettings) {
    this.#raw = raw as Owned;
    this.#socket = socket;
    this.#settings = settings;
    // From here on the ws object's events come straight to this socket (see rawClass()).
    this.#raw[OWNER] = this;
    if (settings.heartbeat > 0) {
      heartbeat(settings.heartbeat).add(this);
    }
  }

  // ---- state -----------------------------------------------------------------------------------

  /** `'open'`, `'closing'` (a close frame went one way) or `'closed'`. */
  get readyState(): 'open' | 'closing' | 'closed' {
    const state = this.#raw.readyState;
    return state === OPEN ? 'open' : state === CLOSING ? 'closing' : 'closed';
  }

  /** The subprotocol the server chose (`''` when none). */
  get protocol(): string {
    return this.#raw.protocol;
  }

  /** The negotiated extensions, as the handshake named them (`''` when none). */
  get extensions(): string {
    return this.#raw.extensions;
  }

  /** The peer's IP address (`''` once unknown). */
  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? '';
  }

  /** Bytes given to `send()` that have not reached the kernel yet. */
  get bufferedAmount(): number {
    return this.#raw.bufferedAmount;
  }

  /** Resolves (never rejects) with the close code and reason once the connection closed. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === null) {
      this.#closed =
        this.#info !== null
          ? Promise.resolve(this.#info)
          : new Promise<CloseInfo>((resolve) => (this.#resolveClosed = resolve));
    }
    return this.#closed;
  }

  // ---- reading ---------------------------------------------------------------------------------

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return new MessageIterator(this);
  }

  /** @internal The iterator's `next()`. */
  static next(socket: WebSocket): Promise<IteratorResult<Message>> {
    return socket.#next();
  }

  /**
   * The next message; `null` once the socket closed normally (see the class notes). Rejects
   * with WebSocketClosedError after an abnormal close, ConcurrentReadError if a read waits.
   */
  async receive(): Promise<Message | null> {
    const result = await this.#next();
    return result.done === true ? null : result.value;
  }

  #next(): Promise<IteratorResult<Message>> {
    const queue = this.#queue;
    if (queue !== null && queue.length > 0) {
      const message = queue.shift() as Message;
      if (this.#paused && queue.length <= this.#settings.receiveHighWaterMark >>> 1) this.#resume();
      return Promise.resolve({ value: message, done: false });
    }
    if (this.#info !== null) return this.#end(this.#info);
    if (this.#resolveNext !== null) return Promise.reject(new ConcurrentReadError());
    if (this.#paused) this.#resume();
    return new Promise((resolve) => (this.#resolveNext = resolve));
  }

  /** What reading after the close gives: the end, or the abnormal close as an error. */
  #end(info: CloseInfo): Promise<IteratorResult<Message>> {
    if (this.#closedHere || isNormal(info.code)) return Promise.resolve(DONE);
    return Promise.reject(new WebSocketClosedError(info.code, info.reason));
  }

  #push(data: Buffer, isBinary: boolean): void {
    this.#awaitingPong = false;
    const message = new Message(isBinary ? 'binary' : 'text', data);
    const resolve = this.#resolveNext;
    if (resolve !== null) {
      this.#resolveNext = null;
      resolve({ value: message, done: false });
      return;
    }
    const queue = (this.#queue ??= []);
    queue.push(message);
    if (
      !this.#paused &&
      queue.length >= this.#settings.receiveHighWaterMark &&
      this.#raw.readyState === OPEN
    ) {
      this.#paused = true;
      this.#raw.pause();
    }
  }

  #resume(): void {
    this.#paused = false;
    this.#raw.resume();
  }

  // ---- writing ---------------------------------------------------------------------------------

  /**
   * Sends a message: a string as text, bytes as binary, a received Message as it came (an echo
   * costs no decoding). Resolves at once while `bufferedAmount` is under the high-water mark,
   * else once the message was written; rejects with WebSocketClosedError when the socket is
   * closed or closing.
   */
  send(data: WebSocketData): Promise<void> {
    const raw = this.#raw;
    if (raw.readyState !== OPEN) return Promise.reject(this.#closedError());
    let payload: string | Buffer | Uint8Array | ArrayBuffer;
    let binary: boolean;
    if (typeof data === 'string') {
      payload = data;
      binary = false;
    } else if (data instanceof Message) {
      payload = data.data;
      binary = data.type === 'binary';
    } else {
      payload = data;
      binary = true;
    }
    if (raw.bufferedAmount < this.#settings.sendHighWaterMark) {
      raw.send(payload, binary ? BINARY : TEXT);
      return RESOLVED;
    }
    return new Promise((resolve, reject) => {
      raw.send(payload, binary ? BINARY : TEXT, (err) => {
        if (err) reject(this.#closedError());
        else resolve();
      });
    });
  }

  /**
   * Sends a ping; resolves with the round trip in milliseconds when its pong arrives. Rejects
   * with WebSocketClosedError if the socket closes first.
   */
  ping(): Promise<number> {
    const raw = this.#raw;
    if (raw.readyState !== OPEN) return Promise.reject(this.#closedError());
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE((pingCounter = (pingCounter + 1) >>> 0));
    return new Promise((resolve, reject) => {
      (this.#pings ??= []).push({ payload, start: performance.now(), resolve, reject });
      raw.ping(payload);
    });
  }

  #pong(data: Buffer): void {
    this.#awaitingPong = false;
    const pings = this.#pings;
    if (pings === null || data.length === 0) return;
    const i = pings.findIndex((ping) => ping.payload.equals(data));
    if (i === -1) return;
    const [ping] = pings.splice(i, 1) as [PendingPing];
    ping.resolve(performance.now() - ping.start);
  }

  /** @internal One heartbeat round: terminate if the last ping went unanswered, else ping. */
  [BEAT](): void {
    // Paused reading is this end's consumer holding back, not a silent peer: its pongs wait unread.
    if (this.#paused || this.#raw.readyState !== OPEN) return;
    if (this.#awaitingPong) {
      this.#fail = { code: 1006, reason: 'the peer stopped answering pings', wasClean: false };
      this.#raw.terminate();
      return;
    }
    this.#awaitingPong = true;
    this.#raw.ping();
  }

  // ---- closing ---------------------------------------------------------------------------------

  /**
   * Starts the closing handshake (after the messages already sent) and resolves once the
   * connection closed; a peer that does not answer is cut after the close timeout. `code`:
   * 1000 or 3000–4999 (and the other codes RFC 6455 lets an endpoint send); `reason` up to
   * 123 bytes.
   */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    if (this.#info !== null) return this.closed;
    checkCloseCode(code);
    if (Buffer.byteLength(reason) > 123) throw new RangeError('a close reason must fit in 123 bytes');
    const raw = this.#raw;
    if (raw.readyState === OPEN) {
      this.#closedHere = true;
      raw.close(code, reason);
    }
    // The peer's close frame must be read for the handshake to finish.
    if (this.#paused) this.#resume();
    return this.closed;
  }

  /** Drops the connection at once, without a closing handshake (the close code is 1006). */
  terminate(): void {
    if (this.#info !== null) return;
    this.#closedHere = true;
    this.#raw.terminate();
  }

  #closedError(): WebSocketClosedError {
    const info = this.#info;
    if (info !== null) return new WebSocketClosedError(info.code, info.reason);
    if (this.#fail !== null) return new WebSocketClosedError(this.#fail.code, this.#fail.reason);
    return new WebSocketClosedError(1005, 'the socket is closing');
  }

  #finish(code: number, reason: Buffer): void {
    if (this.#info !== null) return;
    const info: CloseInfo =
      this.#fail !== null
        ? this.#fail
        : { code, reason: reason.length === 0 ? '' : reason.toString(), wasClean: code !== 1006 };
    this.#info = info;
    if (this.#settings.heartbeat > 0) heartbeat(this.#settings.heartbeat).delete(this);
    this[HOLDER]?.forget(this);
    if (this.#pings !== null) {
      for (const ping of this.#pings) ping.reject(new WebSocketClosedError(info.code, info.reason));
      this.#pings = null;
    }
    const resolve = this.#resolveNext;
    if (resolve !== null) {
      this.#resolveNext = null;
      resolve(this.#end(info));
    }
    this.#resolveClosed?.(info);
    this.#resolveClosed = null;
  }

  // ---- ws events --------------------------------------------------------------------------------

  /**
   * @internal ws's WebSocket class with its events delivered by a method instead of listeners:
   * once a wirekit WebSocket owns it, `message`, `close`, `error` and `pong` go straight to that
   * socket, so an idle connection carries no listener closures or listener tables of wirekit's.
   * ws builds the server's sockets from it (its `WebSocket` option); the client makes its own.
   */
  static rawClass(): RawWebSocketClass {
    if (WebSocket.#rawClass !== undefined) return WebSocket.#rawClass;
    class WirekitRawWebSocket extends ws().WebSocket {
      [OWNER]: WebSocket | undefined = undefined;
      override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
        const owner = this[OWNER];
        if (owner === undefined) return super.emit(event, a, b);
        switch (event) {
          case 'message':
            owner.#push(a as Buffer, b as boolean);
            return true;
          case 'close':
            owner.#finish(a as number, (b as Buffer | undefined) ?? EMPTY_REASON);
            return true;
          case 'error':
            // A receiver error (bad frame, too big, bad UTF-8): ws closes with its code.
            owner.#fail ??= { code: codeOfError(a), reason: (a as Error).message, wasClean: false };
            return true;
          case 'pong':
            owner.#pong(a as Buffer);
            return true;
          default:
            return super.emit(event, a, b);
        }
      }
    }
    return (WebSocket.#rawClass = WirekitRawWebSocket as never);
  }

  static #rawClass: ReturnType<typeof WebSocket.rawClass> | undefined;
}

/** The iterator of `for await (const message of socket)`: one small object, no closures. */
class MessageIterator implements AsyncIterableIterator<Message> {
  readonly #socket: WebSocket;

  constructor(socket: WebSocket) {
    this.#socket = socket;
  }

  next(): Promise<IteratorResult<Message>> {
    return WebSocket.next(this.#socket);
  }

  /** Leaving a for-await loop early leaves the socket open: the handler decides. */
  return(): Promise<IteratorResult<Message>> {
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }
}
