/**
 * @module wirekit/cli/commands/demo
 * `wirekit demo` (what `npm start` runs): the showcase. Today: the seed programs' welcome +
 * echo TCP server.
 */
import type { Command } from 'commander';
import { formatHostPort } from '../../errors.js';
import { listen } from '../../net/tcp.js';
import { parsePort, untilSignal } from '../args.js';
import { paint } from '../print.js';
import { welcomeEcho } from './echo.js';

export const DEMO_BANNER = 'Welcome to my server!';

export function registerDemo(program: Command): Command {
  return program
    .command('demo')
    .description('run the showcase: the welcome + echo TCP server (what npm start runs)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--tcp-port <n>', 'port of the welcome + echo TCP server', '9999')
    .action(async (flags: { host: string; tcpPort: string }) => {
      const server = await listen(
        { host: flags.host, port: parsePort(flags.tcpPort, '--tcp-port') },
        welcomeEcho(DEMO_BANNER),
      );
      const { address, port } = server.address;
      process.stdout.write(
        [
          paint('wirekit demo', 'bold'),
          `  tcp://${formatHostPort(address, port)}  welcome + echo server (banner "${DEMO_BANNER}")`,
          '',
          '  Try it in another terminal:',
          `    ${paint(`npx wirekit connect ${address} ${port}`, 'cyan')}`,
          '  type a line and it comes back; Ctrl+D half-closes and ends the session.',
          '',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
      await untilSignal(() => server.close({ timeout: 2_000 }));
    });
}
