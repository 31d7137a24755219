/** Helpers for the demo tests: the built `wirekit demo`, and chat users over WebSocket and TCP. */
import { connect, type Stream } from '../../src/net/index.js';
import { type CloseInfo, connectWebSocket, type WebSocket } from '../../src/ws/index.js';
import { start } from '../cli/cli-helpers.js';
import { sleep } from '../helpers.js';

/** The banner's lines that name the ports. */
const BANNER = /npx wirekit connect 127\.0\.0\.1 (\d+)\n\s+curl (http:\/\/127\.0\.0\.1:\d+\/)hello\n/;

export interface Demo {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly tcpPort: number;
  /** SIGINT, then the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `wirekit demo --http-port 0 --tcp-port 0 ...args` until it printed its banner. */
export async function startDemo(args: string[] = []): Promise<Demo> {
  const demo = await start(['demo', '--http-port', '0', '--tcp-port', '0', ...args], BANNER);
  return { url: demo.match[2]!, tcpPort: Number(demo.match[1]), stop: demo.stop };
}

/** Resolves once `check()` returns something other than undefined; rejects after `ms`. */
export async function eventually<T>(check: () => T | undefined, what: string, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// The JSON the server sends; each test reads the fields it checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

/** A page's side of the chat, without the page: everything received is kept in `seen`. */
export class WsUser {
  readonly seen: Json[] = [];
  closed: CloseInfo | undefined;
  private constructor(readonly socket: WebSocket) {
    void (async () => {
      try {
        for await (const message of socket) this.seen.push(JSON.parse(message.text) as Json);
      } catch {
        // An abnormal close: `closed` tells which.
      }
    })();
    void socket.closed.then((info) => (this.closed = info));
  }

  static async open(demo: Demo, options: { name?: string } = {}): Promise<WsUser> {
    const user = new WsUser(await connectWebSocket(`${demo.url.replace(/^http/, 'ws')}ws`));
    if (options.name !== undefined) {
      await user.send({ type: 'join', name: options.name });
      await user.waitFor((m) => m.type === 'welcome' || m.type === 'error', 'an answer to join');
    }
    return user;
  }

  send(message: Json | string): Promise<void> {
    return this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message received so far (or later) that matches. */
  waitFor(match: (message: Json) => boolean, what: string, ms?: number): Promise<Json> {
    return eventually(() => this.seen.find(match), `${what} (seen: ${JSON.stringify(this.seen)})`, ms);
  }

  waitClosed(ms?: number): Promise<CloseInfo> {
    return eventually(() => this.closed, 'the WebSocket to close', ms);
  }

  messages(): string[] {
    return this.seen.filter((m) => m.type === 'message').map((m) => `[${m.name}] ${m.text}`);
  }
}

/** A terminal's side of the chat: every line received is kept in `lines`. */
export class TcpUser {
  readonly lines: string[] = [];
  ended = false;
  private constructor(readonly stream: Stream) {
    void (async () => {
      try {
        for await (const line of stream.lines()) this.lines.push(line);
      } catch {
        // A reset: `ended` still tells.
      }
      this.ended = true;
    })();
  }

  static async open(demo: Demo): Promise<TcpUser> {
    const user = new TcpUser(await connect('127.0.0.1', demo.tcpPort, { timeout: 5_000 }));
    await user.waitFor(/^\* \d+ online: /);
    return user;
  }

  /** The name the room gave this user (`guest-NNNN`), from its greeting. */
  get name(): string {
    const greeting = this.lines.find((line) => line.startsWith('* you are '));
    return /^\* you are (guest-\d{4})\./.exec(greeting ?? '')?.[1] ?? '';
  }

  say(line: string): Promise<void> {
    return this.stream.write(`${line}\n`);
  }

  waitFor(pattern: RegExp, ms?: number): Promise<string> {
    return eventually(
      () => this.lines.find((line) => pattern.test(line)),
      `${pattern} (lines: ${this.lines.join(' | ')})`,
      ms,
    );
  }

  waitEnded(ms?: number): Promise<true> {
    return eventually(() => (this.ended ? true : undefined), 'the TCP connection to end', ms);
  }

  close(): void {
    this.stream.close();
  }
}

export { type RedisServer, startRedis } from '../helpers.js';
