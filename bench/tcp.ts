/**
 * @module bench/tcp
 * wirekit/net streams against hand-written node:net: what a user pays for `lines()`, `write()`
 * with backpressure and async iteration, on small round trips and on bulk transfer.
 */
import type { Area, BenchCase, RunOptions } from './lib/types.js';

const CONNECTIONS = 50;
const LINE_BYTES = 32;
const CHUNK_KIB = 64;
/** Bulk warm-ups are capped: enough for the JIT, short enough not to double the run. */
const BULK_WARMUP_MIB = 256;

const lineEcho = (): BenchCase => ({
  id: 'line-echo',
  title: `Line echo, ${CONNECTIONS} connections`,
  description: `${CONNECTIONS} connections each send a ${LINE_BYTES}-byte line and wait for its echo before sending the next, for the measurement's duration; the figure is completed round trips per second over all connections. The load generator (\`bench/tcp/line-load.ts\`) uses raw node:net sockets, one preallocated line, reads into one preallocated buffer and counts \`\\n\` bytes without decoding (checking each one ends a whole echo), so it spends less CPU per round trip than any target.`,
  unit: 'round trips/s',
  target: 0.8,
  contenders: [
    { name: 'node:net', script: 'tcp/line-node.ts', baseline: true },
    { name: 'wirekit', script: 'tcp/line-wirekit.ts' },
  ],
  load: ({ port, phase, options }) => ({
    script: 'tcp/line-load.ts',
    args: [
      ...['--port', String(port), '--connections', String(CONNECTIONS), '--line-bytes', String(LINE_BYTES)],
      ...['--duration', String(phase === 'warmup' ? options.warmup : options.duration)],
    ],
  }),
  timeoutMs: (o) => (Math.max(o.duration, o.warmup) + 30) * 1000,
});

const bulkEcho = (options: RunOptions): BenchCase => ({
  id: 'bulk-echo',
  title: `Bulk echo, ${formatSize(options.bulkMib)}`,
  description: `One connection sends ${formatSize(options.bulkMib)} in ${CHUNK_KIB} KiB writes, honouring backpressure, and reads the echo back at the same time; the figure is the size over the time from the first write to the last echoed byte. The load generator (\`bench/tcp/bulk-load.ts\`) sends slices of one preallocated pattern and checks the first and last byte of every read against it, so a lost or reordered chunk fails the run. Warm-up transfers ${formatSize(Math.min(options.bulkMib, BULK_WARMUP_MIB))}. Set the size with \`--bulk-mib\`.`,
  unit: 'MiB/s',
  target: 0.9,
  contenders: [
    { name: 'node:net', script: 'tcp/bulk-node.ts', baseline: true },
    { name: 'wirekit', script: 'tcp/bulk-wirekit.ts' },
  ],
  load: ({ port, phase, options: o }) => ({
    script: 'tcp/bulk-load.ts',
    args: [
      ...['--port', String(port), '--chunk-kib', String(CHUNK_KIB)],
      ...['--mib', String(phase === 'warmup' ? Math.min(o.bulkMib, BULK_WARMUP_MIB) : o.bulkMib)],
    ],
  }),
  // The load generator gives up by itself after 10 s without progress; this is the backstop.
  timeoutMs: (o) => (60 + o.bulkMib / 5) * 1000,
});

function formatSize(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

const tcp: Area = {
  name: 'tcp',
  title: 'TCP: wirekit/net against node:net',
  intro: `Both cases are echo servers on 127.0.0.1. The baseline is what a good Node developer writes on node:net without wirekit; wirekit's contender is the handler a wirekit user writes, importing the built package (\`wirekit/net\`). Each target runs in its own \`node\` process on core 1 and is driven by a Node load generator on core 0.`,
  cases: (options) => [lineEcho(), bulkEcho(options)],
};

export default tcp;
