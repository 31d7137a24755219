/**
 * @module wirekit/cli/commands/sockets
 * `wirekit sockets`: this machine's TCP sockets and their states, like `ss -tan`.
 */
import type { Command } from 'commander';
import { formatHostPort } from '../../errors.js';
import { sockets, TCP_STATES, type TcpState } from '../../net/sockets.js';
import { parsePort, UsageError } from '../args.js';
import { out, paint, table } from '../print.js';

const stateStyle: Partial<Record<TcpState, 'green' | 'cyan' | 'yellow' | 'dim'>> = {
  LISTEN: 'cyan',
  ESTABLISHED: 'green',
  TIME_WAIT: 'dim',
  CLOSE_WAIT: 'yellow',
};

export function registerSockets(program: Command): Command {
  return program
    .command('sockets')
    .description("list this machine's TCP sockets and their states (from /proc/net/tcp)")
    .option('--state <state>', `only this state: ${TCP_STATES.join(', ')}`)
    .option('--port <n>', 'only sockets with this local or remote port')
    .option('--json', 'print JSON')
    .action(async (flags: { state?: string; port?: string; json?: boolean }) => {
      const state = flags.state?.toUpperCase();
      if (state !== undefined && !TCP_STATES.includes(state as TcpState)) {
        throw new UsageError(`--state must be one of ${TCP_STATES.join(', ')}; got '${flags.state}'`);
      }
      const port = flags.port === undefined ? undefined : parsePort(flags.port, '--port');
      const list = await sockets({ state: state as TcpState | undefined, port });
      if (flags.json) return out(`${JSON.stringify(list, null, 2)}\n`);
      const rows = [['STATE', 'LOCAL', 'PEER', 'UID', 'INODE']];
      for (const s of list) {
        const peer =
          s.remote.port === 0
            ? s.family === 'IPv6'
              ? '[::]:*'
              : '0.0.0.0:*'
            : formatHostPort(s.remote.address, s.remote.port);
        rows.push([
          s.state,
          formatHostPort(s.local.address, s.local.port),
          peer,
          String(s.uid),
          String(s.inode),
        ]);
      }
      const text = table(rows)
        .split('\n')
        .map((line, i) => {
          const style = i === 0 ? 'bold' : stateStyle[list[i - 1]?.state as TcpState];
          return style ? paint(line, style) : line;
        })
        .join('\n');
      await out(`${text}\n`);
    });
}
