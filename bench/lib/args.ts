/** Command-line options of the runner, validated before anything starts. */
import { parseArgs } from 'node:util';
import type { RunOptions } from './types.js';

export const usage = `Usage: npm run bench -- [AREA...] [options]

Runs each contender in its own process (load on core 0, target on core 1), a warm-up, then
several rounds with the contenders alternated, and prints medians and ratios to the baseline.
In a client case the contenders are clients on core 1, started afresh each round, and the
server they talk to runs on core 0.

Options:
  --rounds N       measured rounds per case (default 5)
  --duration S     seconds per duration-based measurement (default 5)
  --warmup S       seconds of warm-up per contender (default 2)
  --bulk-mib N     MiB per bulk transfer (default 1024)
  --requests N     requests per client measurement, after its warm-up (default 20000)
  --idle-connections N   idle WebSockets per memory measurement (default 10000)
  --broadcast-clients N  clients a WebSocket broadcast reaches (default 1000)
  --record         rewrite the area's section of docs/benchmarks.md and its SVG chart
  --profile        run targets under node --cpu-prof (bench/results/profiles/)
  --case ID[,ID]   only these cases of the area (ids as in bench/<area>.ts)
  --only NAME[,NAME]  only these contenders, beside each case's baseline (not with --record)
  -h, --help       this text`;

export interface ParsedArgs {
  areas: string[];
  /** Case ids to run (empty: all). */
  cases: string[];
  /** Contenders to run beside the baseline (empty: all). */
  only: string[];
  options: RunOptions;
  help: boolean;
}

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
  }
  return value;
}

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

export function parseRunArgs(argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      'bulk-mib': { type: 'string', default: '1024' },
      requests: { type: 'string', default: '20000' },
      'idle-connections': { type: 'string', default: '10000' },
      'broadcast-clients': { type: 'string', default: '1000' },
      record: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      case: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  return {
    areas: positionals,
    cases: list(values.case),
    only: list(values.only),
    help: values.help,
    options: {
      rounds: positive('rounds', values.rounds, true),
      duration: positive('duration', values.duration, false),
      warmup: positive('warmup', values.warmup, false),
      bulkMib: positive('bulk-mib', values['bulk-mib'], true),
      requests: positive('requests', values.requests, true),
      idleConnections: positive('idle-connections', values['idle-connections'], true),
      broadcastClients: positive('broadcast-clients', values['broadcast-clients'], true),
      record: values.record,
      profile: values.profile,
    },
  };
}
