/**
 * @module wirekit/cli/commands/demo
 * `wirekit demo` (what `npm start` runs): the showcase: the seed programs' welcome + echo
 * TCP server and their Flask "Hello World!" web server.
 */
import type { Command } from 'commander';
import { formatHostPort } from '../../errors.js';
import { listen } from '../../net/tcp.js';
import { App } from '../../server/app.js';
import { parsePort, untilSignal } from '../args.js';
import { paint } from '../print.js';
import { welcomeEcho } from './echo.js';

export const DEMO_BANNER = 'Welcome to my server!';

export function registerDemo(program: Command): Command {
  return program
    .command('demo')
    .description(
      'run the showcase: welcome + echo TCP server and Hello World web server (what npm start runs)',
    )
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--http-port <n>', 'port of the web server', '8080')
    .option('--tcp-port <n>', 'port of the welcome + echo TCP server', '9999')
    .action(async (flags: { host: string; httpPort: string; tcpPort: string }) => {
      const web = new App().get('/', () => 'Hello World!');
      const http = await web.listen({ host: flags.host, port: parsePort(flags.httpPort, '--http-port') });
      const server = await listen(
        { host: flags.host, port: parsePort(flags.tcpPort, '--tcp-port') },
        welcomeEcho(DEMO_BANNER),
      );
      const { address, port } = server.address;
      process.stdout.write(
        [
          paint('wirekit demo', 'bold'),
          `  ${http.url}  web server: GET / answers "Hello World!"`,
          `  tcp://${formatHostPort(address, port)}  welcome + echo server (banner "${DEMO_BANNER}")`,
          '',
          '  Try it in another terminal:',
          `    ${paint(`npx wirekit connect ${address} ${port}`, 'cyan')}`,
          `    ${paint(`curl ${http.url}`, 'cyan')}`,
          '  type a line and it comes back; Ctrl+D half-closes and ends the session.',
          '',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
      await untilSignal(() =>
        Promise.all([server.close({ timeout: 2_000 }), http.close({ timeout: 2_000 })]),
      );
    });
}
