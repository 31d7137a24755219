/**
 * WebSocket idle-memory load: opens N connections that then send nothing, and asks the
 * target's memory probe (`--control`, see memory-control.ts) for its RSS and heap after a full
 * GC before and after. A few connections are opened first and kept, so the code the first
 * connections load (the WebSocket engine, the handshake path) is in both figures. The value is
 * the growth of the RSS over N, in bytes per connection; `heapBytes` the growth of the heap.
 * Every connection must still be open at the end.
 *
 * Events: start (before the N connections), end (after the last probe), result.
 */
import * as net from 'node:net';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';
import { openClients, type RawClient } from './raw-client.js';

const port = numberArg('port');
const control = numberArg('control');
const count = numberArg('connections');

const PRIMING = 16;
/** Time for the handlers of the last connections to reach their idle state. */
const SETTLE_MS = 1_000;
const CLOSE_MS = 10_000;

interface Memory {
  rss: number;
  heapUsed: number | null;
}

let closing = false;
let errors = 0;
let firstError = '';
function error(message: string): void {
  errors++;
  if (firstError === '') firstError = message;
}

const probe = net.connect({ host: '127.0.0.1', port: control });
await new Promise((resolve, reject) => probe.once('connect', resolve).once('error', reject)).catch(
  (err: Error) => fail(`memory probe: ${err.message}`),
);
probe.setEncoding('latin1');
let pending = '';
async function measure(): Promise<Memory> {
  probe.write('measure\n');
  while (!pending.includes('\n')) {
    const more = await new Promise<string>((resolve, reject) => {
      probe.once('data', resolve);
      probe.once('error', reject);
    });
    pending += more;
  }
  const line = pending.slice(0, pending.indexOf('\n'));
  pending = pending.slice(line.length + 1);
  return JSON.parse(line) as Memory;
}

const watch = (clients: RawClient[]) => {
  for (const client of clients) {
    client.onMessage = () => error('an idle connection received a message');
    client.onEnd = (reason) => {
      if (!closing) error(`an idle connection ended: ${reason}`);
    };
  }
};

const primed = await openClients(port, PRIMING).catch((err: Error) => fail(`connect failed: ${err.message}`));
watch(primed);
await sleep(SETTLE_MS);
const before = await measure();
report('start');
const idle = await openClients(port, count).catch((err: Error) =>
  fail(`connect failed after ${primed.length} + some: ${err.message}`),
);
watch(idle);
await sleep(SETTLE_MS);
const after = await measure();
report('end');

const rssBytes = (after.rss - before.rss) / count;
const heapBytes =
  after.heapUsed === null || before.heapUsed === null ? null : (after.heapUsed - before.heapUsed) / count;
closing = true;
probe.end();
await Promise.race([Promise.all([...primed, ...idle].map((c) => c.close())), sleep(CLOSE_MS)]);

report('result', {
  ok: errors === 0 && rssBytes > 0,
  value: rssBytes,
  error: firstError || (rssBytes > 0 ? undefined : `the RSS did not grow (${Math.round(rssBytes)} bytes)`),
  errors,
  detail: {
    heapBytes,
    connections: count,
    rssBefore: before.rss,
    rssAfter: after.rss,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
  },
});
exitWithRunner();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
