/**
 * WebSocket broadcast load: C receiving clients and one sender, all on the target's one route.
 * The sender sends numbered binary messages; the target relays each to every other connection.
 * At most WINDOW messages are in flight (sent, not yet received by every client), so the
 * target always has work queued and its buffers stay bounded. The receivers are RawClient
 * (raw-client.ts): frames parsed from one shared read buffer, only the first four bytes of each
 * message read, so this process spends far less per delivery than the target. Every delivery is
 * checked: the length sent, and the next sequence number of that client (order, no loss).
 *
 * Events: start (counting begins), end (counting stopped), result.
 */
import { performance } from 'node:perf_hooks';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';
import { openClients, RawClient } from './raw-client.js';

const port = numberArg('port');
const clientCount = numberArg('clients');
const duration = numberArg('duration');
const messageBytes = numberArg('message-bytes');

const WINDOW = 32;
const SETTLE_MS = 500;
const DRAIN_MS = 5_000;

let deliveries = 0;
let errors = 0;
let firstError = '';
let sending = false;
let closing = false;
/** Messages sent; the next one's sequence number is `sent + 1`. */
let sent = 0;
/** Messages every client has received (they arrive in order, so these are 1..complete). */
let complete = 0;
/** Per message in flight (by sequence number modulo RING): how many clients received it. */
const RING = WINDOW * 2;
const received = new Uint32Array(RING);
let onComplete: (() => void) | null = null;

function error(message: string): void {
  errors++;
  if (firstError === '') firstError = message;
}

const clients = await openClients(port, clientCount).catch((err: Error) =>
  fail(`connect failed: ${err.message}`),
);
const sender = new RawClient(port);
await sender.opened.catch((err: Error) => fail(`connect failed: ${err.message}`));
sender.onMessage = () => error('the sender received its own message');

for (const client of clients) {
  let expected = 1;
  client.onMessage = (seq, length) => {
    if (length !== messageBytes) error(`a message of ${length} bytes for ${messageBytes}`);
    if (seq !== expected) {
      error(`a client got message ${seq} where ${expected} was due`);
      expected = seq;
    }
    expected++;
    deliveries++;
    const slot = seq % RING;
    const got = (received[slot] as number) + 1;
    received[slot] = got;
    if (got === clientCount) {
      received[slot] = 0;
      complete++;
      if (sending) send();
      else if (complete === sent) onComplete?.();
    }
  };
  client.onEnd = (reason) => {
    if (!closing) error(`a client's connection ended: ${reason}`);
  };
}
sender.onEnd = (reason) => {
  if (!closing) error(`the sender's connection ended: ${reason}`);
};

function send(): void {
  const payload = Buffer.alloc(messageBytes, 'x');
  payload.writeUInt32LE(++sent, 0);
  sender.send(payload);
}

sending = true;
for (let i = 0; i < WINDOW; i++) send();
await sleep(SETTLE_MS);
const startCount = deliveries;
const startTime = performance.now();
const startCpu = process.cpuUsage();
report('start');
await sleep(duration * 1000);
const count = deliveries - startCount;
const seconds = (performance.now() - startTime) / 1000;
const cpu = process.cpuUsage(startCpu);
sending = false;
report('end');

if (complete < sent) {
  await Promise.race([new Promise<void>((resolve) => (onComplete = resolve)), sleep(DRAIN_MS)]);
}
if (complete < sent) error(`${sent - complete} messages never reached every client`);
closing = true;
await Promise.race([Promise.all([sender, ...clients].map((c) => c.close())), sleep(DRAIN_MS)]);

report('result', {
  ok: errors === 0 && count > 0,
  value: count / seconds,
  error: firstError || (count === 0 ? 'no message was delivered' : undefined),
  errors,
  detail: {
    deliveries: count,
    messagesSent: sent,
    seconds,
    clients: clientCount,
    messageBytes,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  },
});
exitWithRunner();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
