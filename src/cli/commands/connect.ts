/**
 * @module wirekit/cli/commands/connect
 * `wirekit connect HOST PORT`: a netcat/telnet-style client. stdin goes to the socket and the
 * socket to stdout; on stdin EOF it half-closes and exits 0 once the peer closes.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { resolve } from '../../net/dns.js';
import { connect } from '../../net/tcp.js';
import { bindUdp } from '../../net/udp.js';
import { parseMs, parsePort, parseSource } from '../args.js';
import { out } from '../print.js';

interface ConnectFlags {
  timeout: string;
  source?: string;
  tls?: boolean;
  insecure?: boolean;
  ca?: string;
  servername?: string;
  udp?: boolean;
  wait: string;
}

export function registerConnect(program: Command): Command {
  return program
    .command('connect')
    .description('connect to HOST PORT: stdin to the socket, the socket to stdout (like nc/telnet)')
    .argument('<host>', 'host name or IP address')
    .argument('<port>', 'port number')
    .option('--timeout <ms>', 'connect timeout in milliseconds, DNS and TLS included (0 = none)', '10000')
    .option('--source <addr[:port]>', 'local address (and port) to connect from')
    .option('--tls', 'speak TLS')
    .option('--ca <file>', 'trust the certificates in this PEM file (with --tls)')
    .option('--servername <name>', 'TLS server name (SNI) to ask for (with --tls)')
    .option('--insecure', 'do not verify the TLS certificate (with --tls)')
    .option('--udp', 'send each stdin line as a UDP datagram and print the replies')
    .option('--wait <ms>', 'with --udp: how long to wait for replies after stdin ends', '1000')
    .action(async (host: string, portText: string, flags: ConnectFlags) => {
      const port = parsePort(portText, 'PORT');
      const timeout = parseMs(flags.timeout, '--timeout');
      const source = flags.source === undefined ? {} : parseSource(flags.source);
      if (flags.udp) return connectUdp(host, port, source, parseMs(flags.wait, '--wait'), timeout);
      const tls = flags.tls
        ? {
            rejectUnauthorized: !flags.insecure,
            ...(flags.ca ? { ca: readFileSync(flags.ca) } : {}),
            ...(flags.servername ? { servername: flags.servername } : {}),
          }
        : false;
      const conn = await connect(host, port, {
        timeout,
        tls,
        localAddress: source.address,
        localPort: source.port,
      });
      const sending = (async () => {
        for await (const chunk of process.stdin) await conn.write(chunk as Buffer);
        await conn.end();
      })();
      // An error while sending (the peer went away) shows up on the receiving side too.
      sending.catch(() => undefined);
      for await (const chunk of conn) await out(chunk);
      conn.close();
      process.stdin.destroy();
    });
}

/** UDP: one datagram per stdin line; replies from HOST:PORT go to stdout until --wait passes idle. */
async function connectUdp(
  host: string,
  port: number,
  source: { address?: string; port?: number },
  wait: number,
  timeout: number,
): Promise<void> {
  const [target] = isIP(host)
    ? [{ address: host, family: isIP(host) as 4 | 6 }]
    : await resolve(host, { timeout });
  if (target === undefined) throw new Error(`cannot resolve ${host}`);
  const anyAddress = target.family === 6 ? '::' : '0.0.0.0';
  const udp = await bindUdp({ host: source.address ?? anyAddress, port: source.port ?? 0 });
  let idle: NodeJS.Timeout | undefined;
  let stdinDone = false;
  const armIdle = () => {
    clearTimeout(idle);
    if (stdinDone) idle = setTimeout(() => void udp.close(), wait);
  };
  const sending = (async () => {
    let rest = '';
    for await (const chunk of process.stdin) {
      const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) await udp.send(`${line}\n`, port, target.address);
    }
    if (rest !== '') await udp.send(rest, port, target.address);
    stdinDone = true;
    armIdle();
  })();
  sending.catch(async (err) => {
    process.stderr.write(`wirekit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    await udp.close();
  });
  for await (const datagram of udp) {
    if (datagram.port !== port) continue;
    await out(datagram.data);
    armIdle();
  }
}
