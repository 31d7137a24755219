/**
 * @module wirekit/net/sockets
 * `sockets()`: this machine's TCP sockets and their states, read from /proc/net/tcp and
 * /proc/net/tcp6 (what `ss -tan` and `netstat -tan` show). Linux only.
 */
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../errors.js';

/** A TCP state, named as the kernel names it (`include/net/tcp_states.h`). */
export type TcpState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV';

/** Every TCP state, in the kernel's order: state code `n` (1-based hex in /proc) is entry `n - 1`. */
export const TCP_STATES: readonly TcpState[] = Object.freeze([
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
] as const);

/** One TCP socket, as a line of /proc/net/tcp{,6} describes it. */
export interface TcpSocketInfo {
  family: 'IPv4' | 'IPv6';
  local: { address: string; port: number };
  /** `0.0.0.0:0` (or `:::0`) for a listening socket. */
  remote: { address: string; port: number };
  state: TcpState;
  /** The owner's user id. */
  uid: number;
  /** The socket's inode (0 for TIME_WAIT), to find the process in /proc/PID/fd. */
  inode: number;
  /** Bytes sent and not acknowledged (for LISTEN: 0). */
  txQueue: number;
  /** Bytes received and not read (for LISTEN: connections waiting to be accepted). */
  rxQueue: number;
}

/** Options for {@link sockets}. */
export interface SocketsOptions {
  /** Only sockets in this state, or one of these (case-insensitive). **Default:** all. */
  state?: TcpState | TcpState[];
  /** Only sockets whose local or remote port is this one. **Default:** all. */
  port?: number;
  /** Where procfs is mounted (tests point it at fixtures). **Default:** `'/proc'`. */
  procRoot?: string;
}

export const socketsDefaults = {
  state: undefined,
  port: undefined,
  procRoot: '/proc',
} satisfies SocketsOptions;

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The TCP sockets of this machine's network namespace (IPv4 and IPv6), optionally filtered by
 * state and port. Rejects with `UnsupportedError` where /proc/net/tcp does not exist (not Linux).
 *
 * @example
 * for (const s of await sockets({ state: 'LISTEN' })) {
 *   console.log(`${s.local.address}:${s.local.port}`);
 * }
 */
export async function sockets(options: SocketsOptions = {}): Promise<TcpSocketInfo[]> {
  const o = { ...socketsDefaults, ...options };
  const states = o.state === undefined ? undefined : parseStates(o.state);
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${o.port}`);
  }
  if (typeof o.procRoot !== 'string' || o.procRoot === '') {
    throw new TypeError('procRoot must be a non-empty string');
  }
  const [v4, v6] = await Promise.all([
    readTable(join(o.procRoot, 'net', 'tcp')),
    readTable(join(o.procRoot, 'net', 'tcp6')),
  ]);
  if (isMissing(v4) && isMissing(v6)) {
    throw new UnsupportedError(
      '/proc/net/tcp is not available on this platform (sockets() needs Linux procfs)',
      { cause: v4 },
    );
  }
  for (const result of [v4, v6]) {
    // A missing tcp6 only means no IPv6; other failures (EACCES...) would silently hide sockets.
    if (result instanceof Error && !isMissing(result)) {
      throw new UnsupportedError(`cannot read TCP sockets from procfs: ${result.message}`, { cause: result });
    }
  }
  const all = [
    ...(typeof v4 === 'string' ? parseProcNetTcp(v4, 'IPv4') : []),
    ...(typeof v6 === 'string' ? parseProcNetTcp(v6, 'IPv6') : []),
  ];
  if (states === undefined && o.port === undefined) return all;
  return all.filter(
    (s) =>
      (states === undefined || states.has(s.state)) &&
      (o.port === undefined || s.local.port === o.port || s.remote.port === o.port),
  );
}

function parseStates(state: string | string[]): Set<TcpState> {
  const names = Array.isArray(state) ? state : [state];
  const states = new Set<TcpState>();
  for (const name of names) {
    const upper = typeof name === 'string' ? (name.toUpperCase() as TcpState) : undefined;
    if (upper === undefined || !TCP_STATES.includes(upper)) {
      throw new RangeError(`unknown TCP state ${String(name)}; valid states: ${TCP_STATES.join(', ')}`);
    }
    states.add(upper);
  }
  return states;
}

async function readTable(path: string): Promise<string | Error> {
  try {
    return await readFile(path, 'latin1');
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function isMissing(result: string | Error): boolean {
  if (typeof result === 'string') return false;
  const code = (result as { code?: unknown }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Parses the text of /proc/net/tcp (`family` `'IPv4'`) or /proc/net/tcp6 (`'IPv6'`). The header
 * line and lines it does not understand are skipped.
 *
 * @example
 * const [s] = parseProcNetTcp(
 *   '  sl  local_address rem_address   st ...\n' +
 *   '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 4242 1\n',
 *   'IPv4',
 * );
 * // s.local = { address: '127.0.0.1', port: 8080 }, s.state = 'LISTEN' (on a little-endian host)
 */
export function parseProcNetTcp(text: string, family: 'IPv4' | 'IPv6'): TcpSocketInfo[] {
  if (family !== 'IPv4' && family !== 'IPv6') throw new TypeError(`family must be 'IPv4' or 'IPv6'`);
  const hexLength = family === 'IPv4' ? 8 : 32;
  const out: TcpSocketInfo[] = [];
  for (const line of text.split('\n')) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !f[0]?.endsWith(':')) continue;
    const local = parseEndpoint(f[1] as string, hexLength);
    const remote = parseEndpoint(f[2] as string, hexLength);
    const state = TCP_STATES[Number.parseInt(f[3] as string, 16) - 1];
    const queues = (f[4] as string).split(':');
    const uid = Number(f[7]);
    const inode = Number(f[9]);
    if (local === null || remote === null || state === undefined || queues.length !== 2) continue;
    if (!Number.isInteger(uid) || !Number.isInteger(inode)) continue;
    out.push({
      family,
      local,
      remote,
      state,
      uid,
      inode,
      txQueue: Number.parseInt(queues[0] as string, 16),
      rxQueue: Number.parseInt(queues[1] as string, 16),
    });
  }
  return out;
}

const HEX = /^[0-9A-Fa-f]+$/;

/** `0100007F:1F90` -> 127.0.0.1:8080. The address is 32-bit words in host byte order. */
function parseEndpoint(text: string, hexLength: number): { address: string; port: number } | null {
  const colon = text.indexOf(':');
  if (colon !== hexLength || text.length !== hexLength + 5) return null;
  const hex = text.slice(0, colon);
  const portHex = text.slice(colon + 1);
  if (!HEX.test(hex) || !HEX.test(portHex)) return null;
  const bytes = Buffer.allocUnsafe(hexLength / 2);
  for (let i = 0; i < hexLength; i += 8) {
    const word = Number.parseInt(hex.slice(i, i + 8), 16);
    if (LITTLE_ENDIAN) bytes.writeUInt32LE(word, i / 2);
    else bytes.writeUInt32BE(word, i / 2);
  }
  return { address: formatAddress(bytes), port: Number.parseInt(portHex, 16) };
}

/** Network-order bytes -> `127.0.0.1`, or canonical compressed IPv6 (`::1`, `::ffff:127.0.0.1`). */
function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // inet_ntop underneath: RFC 5952 compression and dotted v4-mapped addresses, as ss prints them.
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}
