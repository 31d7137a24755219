/**
 * @module wirekit/cli/commands/serve
 * `wirekit serve [DIR|MODULE]`: a static site from a directory, or the App a module exports.
 */
import cluster from 'node:cluster';
import { readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { App } from '../../server/app.js';
import type { Context } from '../../server/context.js';
import { parsePort, UsageError, untilSignal } from '../args.js';

interface ServeFlags {
  port: string;
  host: string;
  list?: boolean;
  cors?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  http2?: boolean;
  quiet?: boolean;
  workers?: string;
}

const MODULE = /\.(ts|mts|js|mjs)$/;

export function registerServe(program: Command): Command {
  return program
    .command('serve')
    .description('serve a directory as a static site, or the App exported by a .ts/.js module')
    .argument('[target]', 'directory or module (default: the current directory)', '.')
    .option('--port <n>', 'port to listen on (0 = any free)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--list', 'list the files of directories without an index.html')
    .option('--cors', 'allow every origin (Access-Control-Allow-Origin: *)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--http2', 'with TLS: HTTP/2, falling back to HTTP/1.1')
    .option('--workers <n>', "processes sharing the port: a number, or 'auto' for one per core", '1')
    .option('--quiet', 'no access log')
    .action(async (target: string, flags: ServeFlags) => {
      const port = parsePort(flags.port, '--port');
      if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey))
        throw new UsageError('--tls-cert and --tls-key go together');
      if (flags.http2 && !flags.tlsCert) throw new UsageError('--http2 needs --tls-cert and --tls-key');
      const app = MODULE.test(target) ? await loadModule(target) : staticApp(target, flags.list === true);
      // The module's own App class: one loaded through tsx's CommonJS hook is another copy of
      // wirekit, and an App mounts only Apps of its own copy.
      const outer = new (app.constructor as typeof App)();
      if (!flags.quiet) outer.use(accessLog);
      if (flags.cors) outer.use(cors);
      outer.mount('/', app);
      const tls = flags.tlsCert
        ? { cert: readFileSync(flags.tlsCert), key: readFileSync(flags.tlsKey as string) }
        : undefined;
      const workers = parseWorkers(flags.workers ?? '1');
      const server = await outer.listen({ port, host: flags.host, tls, http2: flags.http2, workers });
      // A worker stops when the primary tells it to; only the primary talks to the terminal.
      if (cluster.isWorker) return new Promise<never>(() => undefined);
      const each =
        workers === 1 ? '' : ` (${workers === 'auto' ? 'one worker per core' : `${workers} workers`})`;
      process.stdout.write(`wirekit serve: ${target} on ${server.url}${each}\n`);
      await untilSignal(() => server.close({ timeout: 5_000 }));
    });
}

function parseWorkers(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= 1024))
    throw new UsageError(`--workers must be 'auto' or a number from 1 to 1024, got '${value}'`);
  return n;
}

function staticApp(dir: string, listing: boolean): App {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UsageError(`${dir} is not a directory (nor a .ts/.js module)`);
  return new App().static('/', resolvePath(dir), { listing });
}

/** Loads a module whose default export is an App. TypeScript needs tsx (a devDependency here). */
async function loadModule(file: string): Promise<App> {
  const url = pathToFileURL(resolvePath(file)).href;
  if (/\.m?ts$/.test(file)) {
    try {
      // Both of tsx's hooks, as `tsx file.ts` does: outside a "type": "module" package a .ts
      // file is CommonJS to Node, and the ESM hook alone cannot load it.
      const esm = (await import('tsx/esm/api')) as { register: () => unknown };
      const cjs = (await import('tsx/cjs/api')) as { register: () => unknown };
      esm.register();
      cjs.register();
    } catch {
      throw new Error(`loading ${file} needs tsx: npm install --save-dev tsx (or serve the compiled .js)`);
    }
  }
  const loaded = (await import(url)) as { default?: unknown };
  // A module compiled to CommonJS arrives as { default: module.exports }, its own default inside.
  const app = App.isApp(loaded.default) ? loaded.default : (loaded.default as { default?: unknown })?.default;
  if (!App.isApp(app)) {
    throw new UsageError(`${file} must export an App as its default export (export default app)`);
  }
  return app;
}

async function accessLog(ctx: Context, next: () => Promise<unknown>): Promise<unknown> {
  const started = performance.now();
  // Bytes sent, head included (nginx's $bytes_sent): the head is written as one block with writeHead.
  const socket = ctx.req.socket;
  const before = socket.bytesWritten;
  ctx.res.once('finish', () => {
    const ms = (performance.now() - started).toFixed(1);
    const bytes = socket.bytesWritten - before;
    process.stdout.write(`${ctx.ip} ${ctx.method} ${ctx.url} ${ctx.res.statusCode} ${bytes} ${ms}ms\n`);
  });
  return next();
}

function cors(ctx: Context, next: () => Promise<unknown>): Promise<unknown> | undefined {
  ctx.set('access-control-allow-origin', '*');
  if (ctx.method === 'OPTIONS') {
    ctx.set('access-control-allow-methods', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    ctx.set('access-control-allow-headers', String(ctx.headers['access-control-request-headers'] ?? '*'));
    ctx.status = 204;
    return undefined;
  }
  return next();
}
