/**
 * @module wirekit/cli/commands/demo
 * `wirekit demo` (what `npm start` runs): the chat room of src/demo, for browsers on the web
 * server and for terminals on the TCP server, with the seed's "Hello World!" at `/hello`.
 */
import cluster from 'node:cluster';
import type { Command } from 'commander';
import { startChat } from '../../demo/server.js';
import { formatHostPort } from '../../errors.js';
import { parsePort, UsageError, untilSignal } from '../args.js';
import { paint } from '../print.js';

/** The first line every TCP user gets: the seed programs' welcome. */
export const DEMO_BANNER = 'Welcome to my server!';

interface DemoFlags {
  host: string;
  httpPort: string;
  tcpPort: string;
  redis?: string;
  workers: string;
}

function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const count = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= 1 && count <= 1024))
    throw new UsageError(`--workers must be 'auto' or a number from 1 to 1024, got '${value}'`);
  return count;
}

function parseRedis(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--redis must be a URL like redis://127.0.0.1:6379, got '${value}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${value}'`);
  return value;
}

export function registerDemo(program: Command): Command {
  return program
    .command('demo')
    .description('run the chat room demo: a web page and a TCP server sharing one room (what npm start runs)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--http-port <n>', 'port of the web server (the chat page, /hello, /api/history, /ws)', '8080')
    .option('--tcp-port <n>', 'port of the TCP chat (telnet, wirekit connect)', '9999')
    .option('--redis <url>', 'share the room with the other demo processes on this redis server')
    .option('--workers <n>', "processes sharing both ports (needs --redis): a number, or 'auto'", '1')
    .action(async (flags: DemoFlags) => {
      const workers = parseWorkers(flags.workers);
      const redis = parseRedis(flags.redis);
      if (workers !== 1 && redis === undefined)
        throw new UsageError(
          '--workers needs --redis URL: the workers are separate processes sharing the room through it',
        );
      const chat = await startChat({
        host: flags.host,
        httpPort: parsePort(flags.httpPort, '--http-port'),
        tcpPort: parsePort(flags.tcpPort, '--tcp-port'),
        redis,
        workers,
        banner: DEMO_BANNER,
      });
      // A worker stops when the primary tells it to; only the primary talks to the terminal.
      if (cluster.isWorker) return new Promise<never>(() => undefined);
      const web = chat.http.url;
      const tcp = formatHostPort(chat.tcp.address, chat.tcp.port);
      const shared =
        redis === undefined
          ? 'the room lives in this process (--redis URL shares it between processes)'
          : `the room is shared through ${redactPassword(redis)}${workers === 1 ? '' : `, ${workers === 'auto' ? 'one worker per core' : `${workers} workers`}`}`;
      process.stdout.write(
        [
          paint('wirekit demo: a chat room for browsers and terminals', 'bold'),
          `  ${web}  the chat page: open it in two tabs`,
          `  ${web}hello  Hello World!`,
          `  ${web}api/history  the last 100 messages as JSON`,
          `  ${web.replace(/^http/, 'ws')}ws  the page's WebSocket`,
          `  tcp://${tcp}  the same room, one line per message (/nick NAME, /who, /quit)`,
          `  ${shared}`,
          '',
          '  Try it in another terminal:',
          `    ${paint(`npx wirekit connect ${chat.tcp.address} ${chat.tcp.port}`, 'cyan')}`,
          `    ${paint(`curl ${web}hello`, 'cyan')}`,
          '',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
      await untilSignal(() => chat.close());
    });
}

/** The URL as it can be printed: without its password. */
function redactPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
