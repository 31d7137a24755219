#!/usr/bin/env node
/**
 * @module wirekit/cli
 * The `wirekit` command: one CLI over wirekit's modules. Exit codes: 0 success, 1 error,
 * 2 bad usage (docs/cli.md lists every one).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { WirekitError } from '../errors.js';
import { UsageError } from './args.js';
import { registerConnect } from './commands/connect.js';
import { registerDemo } from './commands/demo.js';
import { registerEcho } from './commands/echo.js';
import { registerLinks } from './commands/links.js';
import { registerRequests } from './commands/request.js';
import { registerResolve } from './commands/resolve.js';
import { registerServe } from './commands/serve.js';
import { registerSockets } from './commands/sockets.js';
import { registerWs } from './commands/ws.js';
import { exit } from './print.js';

/** Exit code for a command line that does not parse (unknown option, missing argument...). */
export const EXIT_USAGE = 2;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function buildProgram(): Command {
  const program = new Command('wirekit')
    .description(
      'async networking for TypeScript: TCP/UDP streams, DNS, socket states, HTTP requests and links, an HTTP server',
    )
    .version(version, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of errors')
    // Commander's errors in wirekit's one-line form: `wirekit: what went wrong (run with --help...)`.
    .configureOutput({
      outputError: (text, write) =>
        write(`wirekit: ${text.trim().replace(/^error: /, '')} (run with --help for usage)\n`),
    })
    .exitOverride();
  for (const register of [
    registerDemo,
    registerEcho,
    registerConnect,
    registerResolve,
    registerSockets,
    registerServe,
    registerWs,
  ]) {
    register(program).exitOverride();
  }
  for (const command of registerRequests(program)) command.exitOverride();
  registerLinks(program).exitOverride();
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A finished command exits even if stdin (or another handle) would keep node alive.
    await exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else commander rejects is usage.
      await exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    const debug = argv.includes('--debug');
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`wirekit: ${debug && err instanceof Error ? err.stack : message}\n`);
    if (debug && err instanceof WirekitError && err.cause !== undefined) {
      process.stderr.write(`cause: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
    }
    await exit(err instanceof UsageError ? EXIT_USAGE : 1);
  }
}

await main(process.argv);
