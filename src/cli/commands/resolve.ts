/**
 * @module wirekit/cli/commands/resolve
 * `wirekit resolve HOST`: the addresses a name resolves to (getaddrinfo, /etc/hosts included),
 * or with `-x` the names of an address.
 */
import type { Command } from 'commander';
import { resolve, reverse } from '../../net/dns.js';
import { parseMs, UsageError } from '../args.js';
import { out } from '../print.js';

export function registerResolve(program: Command): Command {
  return program
    .command('resolve')
    .description('print the addresses HOST resolves to (or with -x, the names of an address)')
    .argument('<host>', 'host name (or IP address with -x)')
    .option('-4', 'IPv4 addresses only')
    .option('-6', 'IPv6 addresses only')
    .option('-x, --reverse', 'reverse lookup: the host names of an IP address')
    .option('--timeout <ms>', 'give up after this many milliseconds', '10000')
    .option('--json', 'print JSON')
    .action(
      async (
        host: string,
        flags: { 4?: boolean; 6?: boolean; reverse?: boolean; timeout: string; json?: boolean },
      ) => {
        const timeout = parseMs(flags.timeout, '--timeout');
        if (flags[4] && flags[6]) throw new UsageError('-4 and -6 exclude each other');
        if (flags.reverse) {
          const names = await reverse(host, { timeout });
          await out(flags.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(''));
          return;
        }
        const family = flags[4] ? 4 : flags[6] ? 6 : 0;
        const addresses = await resolve(host, { family, timeout });
        await out(
          flags.json ? `${JSON.stringify(addresses)}\n` : addresses.map((a) => `${a.address}\n`).join(''),
        );
      },
    );
}
