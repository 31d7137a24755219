/**
 * @module wirekit/cli/commands/ws
 * `wirekit ws URL`: a websocat-style WebSocket client (stdin lines become messages, messages go
 * to stdout, one per line), and `wirekit ws --listen PORT`: an echo server to test against.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { App } from '../../server/app.js';
import { connectWebSocket } from '../../ws/client.js';
import type { CloseInfo, WebSocket } from '../../ws/socket.js';
import { parseMs, parsePort, UsageError, untilSignal } from '../args.js';
import { normalizeUrl, parseItem } from '../items.js';
import { out } from '../print.js';

interface WsFlags {
  header?: string[];
  protocol?: string[];
  binary?: boolean;
  pingInterval?: string;
  timeout: string;
  insecure?: boolean;
  ca?: string;
  wait: string;
  close: boolean;
  listen?: string;
  host: string;
}

/** Close codes after which a session ended as it should: normal, going away, no status. */
const NORMAL_CLOSE = new Set([1000, 1001, 1005]);
const NEWLINE = Buffer.from('\n');
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerWs(program: Command): Command {
  return program
    .command('ws')
    .description(
      'WebSocket client (stdin lines to messages, messages to stdout), or --listen: an echo server',
    )
    .argument('[url]', 'ws://, wss://, http(s):// (taken as ws(s)://), or :PORT/path for localhost')
    .option('-H, --header <Header:Value>', 'a handshake header (repeatable)', collect)
    .option('--protocol <name>', 'a subprotocol to offer; with --listen, one to speak (repeatable)', collect)
    .option('--binary', 'send each stdin line as a binary message instead of text')
    .option(
      '--ping-interval <s>',
      'ping every S seconds; a peer that stops answering ends the session (exit 1)',
    )
    .option('--timeout <ms>', 'connect and handshake timeout in milliseconds (0 = none)', '10000')
    .option('--insecure', 'do not verify the TLS certificate (wss:)')
    .option('--ca <file>', 'trust the certificates in this PEM file (wss:)')
    .option('--wait <ms>', 'after stdin ends: close once no message came for this long', '1000')
    .option('--no-close', 'after stdin ends: never close, listen until the server closes or Ctrl+C')
    .option('--listen <port>', 'run an echo server on PORT (0 = any free) instead of connecting')
    .option('--host <addr>', 'with --listen: address to listen on', '127.0.0.1')
    .action(async (url: string | undefined, flags: WsFlags) => {
      const pingMs = flags.pingInterval === undefined ? undefined : parseSeconds(flags.pingInterval);
      const protocols = (flags.protocol ?? []).flatMap(parseProtocols);
      if (flags.listen !== undefined) {
        if (url !== undefined) throw new UsageError('give either a URL or --listen PORT, not both');
        const clientOnly = flags.header !== undefined || flags.binary || flags.insecure || flags.ca;
        if (clientOnly)
          throw new UsageError('-H, --binary, --insecure and --ca are for the client, not --listen');
        return listenEcho(parsePort(flags.listen, '--listen'), flags.host, protocols, pingMs);
      }
      if (url === undefined) throw new UsageError('a URL to connect to (or --listen PORT) is required');
      const target = webSocketTarget(url);
      const headers = parseHeaders(flags.header ?? []);
      let ca: Buffer | undefined;
      if (flags.ca !== undefined) {
        try {
          ca = readFileSync(flags.ca);
        } catch (err) {
          throw new UsageError(`cannot read ${flags.ca}: ${(err as Error).message}`);
        }
      }
      const socket = await connectWebSocket(target, {
        headers,
        protocols,
        timeout: parseMs(flags.timeout, '--timeout'),
        heartbeat: pingMs ?? 0,
        ca,
        tls: flags.insecure ? { rejectUnauthorized: false } : undefined,
      });
      const wait = flags.close ? parseMs(flags.wait, '--wait') : null;
      await session(socket, process.stdin, { binary: flags.binary === true, wait });
    });
}

/**
 * The URL to connect to: ws: and wss: as given, http(s): as ws(s):, and httpie's shorthands
 * (`:3000/path` is localhost, no scheme means ws:).
 */
export function webSocketTarget(arg: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1]?.toLowerCase();
  if (scheme !== undefined && !['ws', 'wss', 'http', 'https'].includes(scheme)) {
    throw new UsageError(`'${arg}': only ws, wss, http and https URLs are supported`);
  }
  const secure = scheme === 'wss' || scheme === 'https';
  const rest = scheme === undefined ? arg : arg.slice(scheme.length + 3);
  try {
    return normalizeUrl(scheme === undefined ? arg : `${secure ? 'https' : 'http'}://${rest}`).replace(
      /^http/,
      'ws',
    );
  } catch {
    throw new UsageError(`'${arg}' is not a URL`);
  }
}

/** `-H` items (`Name:Value`, `Name: Value`; `Name:` or `Name;` empty); repeated names joined with `, `. */
function parseHeaders(args: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const arg of args) {
    let item: ReturnType<typeof parseItem> | undefined;
    try {
      item = parseItem(arg);
    } catch {
      // Not an item of any kind: the same answer as for an item that is not a header.
    }
    if (item?.kind !== 'header') throw new UsageError(`-H '${arg}' is not a header: use Header:Value`);
    const value = (item.value ?? '').trim();
    const name = item.name.toLowerCase();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

/** `--ping-interval` seconds (fractions allowed) as whole milliseconds; `0` is off. */
function parseSeconds(value: string): number {
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  const ms = Math.round(seconds * 1000);
  if (!Number.isSafeInteger(ms) || (seconds > 0 && ms === 0)) {
    throw new UsageError(`--ping-interval must be a number of seconds (0.5, 30...), got '${value}'`);
  }
  return ms;
}

/** `--protocol a,b` as two names; each must be an HTTP token. */
function parseProtocols(value: string): string[] {
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!TOKEN.test(name)) throw new UsageError(`--protocol '${value}' is not a subprotocol name`);
  }
  return names;
}

/**
 * stdin to the socket, the socket to stdout. Resolves when the session ended as it should;
 * throws (exit 1) when the server closed with an error code or the connection dropped.
 */
async function session(
  socket: WebSocket,
  input: Readable,
  { binary, wait }: { binary: boolean; wait: number | null },
): Promise<void> {
  let closedHere = false;
  const closeHere = () => {
    if (socket.readyState === 'open') closedHere = true;
    return socket.close(1000);
  };
  // After stdin ends, replies may still be on their way: close once the server was quiet for `wait`.
  let inputDone = false;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (!inputDone || wait === null) return;
    clearTimeout(idle);
    idle = setTimeout(() => void closeHere(), wait);
  };
  // Ctrl+C ends the session like the end of stdin does; a second one exits at once (130).
  void untilSignal(closeHere);
  const sending = (async () => {
    for await (const line of lines(input, !binary)) {
      if (socket.readyState !== 'open') return;
      await socket.send(binary ? line : line.toString('utf8'));
    }
    inputDone = true;
    armIdle();
  })();
  // A send that fails because the socket closed: the reading side reports how it closed.
  sending.catch(() => undefined);
  try {
    for await (const message of socket) {
      await out(Buffer.concat([message.data, NEWLINE]));
      armIdle();
    }
  } catch {
    // An abnormal close ends iteration with an error; `closed` below says which.
  }
  clearTimeout(idle);
  input.destroy();
  const info = await socket.closed;
  if (closedHere ? info.wasClean : NORMAL_CLOSE.has(info.code)) return;
  throw new Error(describeClose(info, closedHere));
}

function describeClose({ code, reason }: CloseInfo, closedHere: boolean): string {
  if (code === 1006 && reason === '') {
    return closedHere
      ? 'closed with 1006 (the server did not answer the close)'
      : 'closed with 1006 (the connection dropped without a close frame)';
  }
  return `closed with ${code}${reason === '' ? '' : ` (${reason})`}`;
}

/** The lines of `input` as bytes, without their `\n` (nor `\r\n` when `crlf`); a last unterminated one too. */
async function* lines(input: Readable, crlf: boolean): AsyncGenerator<Buffer> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    let data = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let end: number;
    while ((end = data.indexOf(0x0a)) !== -1) {
      const cut = crlf && end > 0 && data[end - 1] === 0x0d ? end - 1 : end;
      yield data.subarray(0, cut);
      data = data.subarray(end + 1);
    }
    rest = data;
  }
  if (rest.length > 0) yield rest;
}

/** `--listen`: echoes every message as it came (text as text, binary as binary) on every path. */
async function listenEcho(
  port: number,
  host: string,
  protocols: string[],
  pingMs: number | undefined,
): Promise<void> {
  const app = new App().ws(
    '/*',
    // A server for debugging: pages of any origin may connect, unlike app.ws()'s default.
    { origins: 'any', protocols, ...(pingMs === undefined ? {} : { heartbeat: pingMs }) },
    async (socket) => {
      for await (const message of socket) await socket.send(message);
    },
  );
  const server = await app.listen({ port, host });
  process.stdout.write(`wirekit ws: listening on ${server.url.replace(/^http/, 'ws')}\n`);
  await untilSignal(() => server.close({ timeout: 2_000 }));
}
