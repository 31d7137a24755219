/**
 * @module wirekit/cli/args
 * Parsing of the argument values commands share (ports, addresses, durations) and waiting for
 * SIGINT/SIGTERM.
 */
import { isIP } from 'node:net';

/** A wrong argument value: the CLI exits 2, as for any usage error. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A port number from 0 to 65535, or a UsageError naming the option. */
export function parsePort(value: string, name: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535))
    throw new UsageError(`${name} must be a port from 0 to 65535, got '${value}'`);
  return port;
}

/** A whole number of milliseconds, or a UsageError naming the option. */
export function parseMs(value: string, name: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms))
    throw new UsageError(`${name} must be a whole number of milliseconds, got '${value}'`);
  return ms;
}

/**
 * `ADDR`, `ADDR:PORT`, `[V6]:PORT`, `V6` or `:PORT` as a source address for a connection.
 */
export function parseSource(value: string): { address?: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) return checkSource(bracketed[1], bracketed[2], value);
  if (isIP(value) === 6) return { address: value };
  const at = value.lastIndexOf(':');
  if (at === -1) return checkSource(value, undefined, value);
  return checkSource(value.slice(0, at) || undefined, value.slice(at + 1), value);
}

function checkSource(address: string | undefined, port: string | undefined, raw: string) {
  if (address !== undefined && isIP(address) === 0) {
    throw new UsageError(`--source must be an IP address with an optional :PORT, got '${raw}'`);
  }
  return { address, port: port === undefined ? undefined : parsePort(port, '--source port') };
}

/**
 * Resolves after SIGINT or SIGTERM once `stop()` has finished; a second signal exits at once.
 */
export function untilSignal(stop: () => Promise<unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) process.exit(130);
      stopping = true;
      stop().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      }, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
