/**
 * @module wirekit/cli/commands/echo
 * `wirekit echo`: a TCP (or UDP) echo server with an optional welcome banner.
 */
import type { Command } from 'commander';
import { formatHostPort } from '../../errors.js';
import { type ConnectionHandler, listen } from '../../net/tcp.js';
import { bindUdp } from '../../net/udp.js';
import { parsePort, untilSignal } from '../args.js';

/** The seed programs' server: send the banner line, then echo every byte until the client closes. */
export function welcomeEcho(banner: string | undefined): ConnectionHandler {
  const line = banner === undefined ? undefined : `${banner}\n`;
  return async (conn) => {
    if (line !== undefined) await conn.write(line);
    for await (const chunk of conn) await conn.write(chunk);
  };
}

export function registerEcho(program: Command): Command {
  return program
    .command('echo')
    .description('run an echo server: TCP (sends --banner first) or --udp')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0 = any free)', '9999')
    .option('--banner <text>', 'line sent to every TCP client when it connects')
    .option('--udp', 'echo UDP datagrams instead of TCP bytes')
    .action(async (opts: { host: string; port: string; banner?: string; udp?: boolean }) => {
      const port = parsePort(opts.port, '--port');
      if (opts.udp) {
        const udp = await bindUdp({ host: opts.host, port });
        process.stdout.write(
          `wirekit echo: listening on udp ${formatHostPort(udp.address.address, udp.address.port)}\n`,
        );
        const stop = untilSignal(() => udp.close());
        for await (const { data, address, port: from } of udp) {
          await udp.send(data, from, address).catch(() => undefined);
        }
        await stop;
        return;
      }
      const server = await listen({ host: opts.host, port }, welcomeEcho(opts.banner));
      const { address, port: bound } = server.address;
      process.stdout.write(`wirekit echo: listening on tcp ${formatHostPort(address, bound)}\n`);
      await untilSignal(() => server.close({ timeout: 2_000 }));
    });
}
