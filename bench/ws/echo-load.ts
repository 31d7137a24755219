/**
 * WebSocket echo load: N connections (raw ws clients, no permessage-deflate), each sending one
 * binary message and waiting for its echo before the next. Every echo is checked: binary, the
 * length sent, and the connection's number and sequence number in its first eight bytes.
 *
 * Events: start (counting begins), end (counting stopped), result.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';

const port = numberArg('port');
const connections = numberArg('connections');
const duration = numberArg('duration');
const messageBytes = numberArg('message-bytes');

/** Lets connections, and this process's JIT, settle before counting starts. */
const SETTLE_MS = 500;
/** How long the echoes still in flight at the end may take before they count as lost. */
const DRAIN_MS = 2_000;

let roundTrips = 0;
let inFlight = 0;
let sending = false;
let errors = 0;
let firstError = '';
let onIdle: (() => void) | null = null;
const sockets: WebSocket[] = [];

function error(message: string): void {
  errors++;
  if (firstError === '') firstError = message;
}

/** Connects; resolves to the function that sends the connection's first message. */
function open(index: number): Promise<() => void> {
  // ws frames (and masks) a message into a new buffer before send() returns, so one payload
  // per connection is rewritten in place for each message.
  const payload = Buffer.alloc(messageBytes, 'x');
  payload.writeUInt32LE(index, 4);
  let seq = 0;
  let waiting = false;
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  sockets.push(socket);
  const send = () => {
    payload.writeUInt32LE(++seq, 0);
    socket.send(payload);
  };
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!waiting) return error('the target sent more messages than it received');
    if (!isBinary || data.length !== messageBytes) {
      error(`an echo of ${data.length} bytes (${isBinary ? 'binary' : 'text'}) for ${messageBytes} binary`);
    } else if (data.readUInt32LE(0) !== seq || data.readUInt32LE(4) !== index) {
      error('an echo did not match the message sent');
    }
    roundTrips++;
    if (sending) send();
    else {
      waiting = false;
      if (--inFlight === 0) onIdle?.();
    }
  });
  socket.on('error', (err) => error(`socket error: ${err.message}`));
  socket.on('close', (code) => {
    if (sending || waiting) error(`the target closed a connection (${code})`);
  });
  return new Promise((resolve, reject) => {
    socket.once('open', () =>
      resolve(() => {
        waiting = true;
        inFlight++;
        send();
      }),
    );
    socket.once('error', reject);
  });
}

const starters = await Promise.all(Array.from({ length: connections }, (_, i) => open(i))).catch(
  (err: Error) => fail(`connect failed: ${err.message}`),
);

sending = true;
for (const start of starters) start();
await sleep(SETTLE_MS);
const startCount = roundTrips;
const startTime = performance.now();
const startCpu = process.cpuUsage();
report('start');
await sleep(duration * 1000);
const count = roundTrips - startCount;
const seconds = (performance.now() - startTime) / 1000;
const cpu = process.cpuUsage(startCpu);
sending = false;
report('end');

if (inFlight > 0) {
  await Promise.race([new Promise<void>((resolve) => (onIdle = resolve)), sleep(DRAIN_MS)]);
}
if (inFlight > 0) error(`${inFlight} echoes never came back`);
await Promise.all(sockets.map(close));

report('result', {
  ok: errors === 0 && count > 0,
  value: count / seconds,
  error: firstError || (count === 0 ? 'no round trip completed' : undefined),
  errors,
  detail: {
    roundTrips: count,
    seconds,
    connections,
    messageBytes,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  },
});
exitWithRunner();

/** Closes with 1000 and waits for the target's answer, as a client that is done would. */
function close(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.terminate(), DRAIN_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1000);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
