/**
 * Line echo load: N connections, each sending one short line and waiting for its echo before
 * the next. Kept lean so the target, not this process, is the bottleneck: raw node:net sockets,
 * one preallocated line, reads into one preallocated buffer (`onread`), newlines counted as
 * bytes, nothing decoded.
 *
 * Events: start (counting begins), end (counting stopped), result.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';

const port = numberArg('port');
const connections = numberArg('connections');
const duration = numberArg('duration');
const lineBytes = numberArg('line-bytes');

/** Lets connections, and this process's JIT, settle before counting starts. */
const SETTLE_MS = 500;
/** How long the echoes still in flight at the end may take before they count as lost. */
const DRAIN_MS = 2_000;
const NEWLINE = 0x0a;

const line = Buffer.alloc(lineBytes, 'x');
line[lineBytes - 1] = NEWLINE;
// One buffer serves every socket: each read is handed to its callback before the next read.
const readBuffer = Buffer.allocUnsafe(64 * 1024);

let roundTrips = 0;
let inFlight = 0;
let sending = false;
let errors = 0;
let firstError = '';
let onIdle: (() => void) | null = null;
const sockets: net.Socket[] = [];

function error(message: string): void {
  errors++;
  if (firstError === '') firstError = message;
}

/** Connects; resolves to the function that sends the connection's first line. */
function open(): Promise<() => void> {
  // Bytes this connection received, to check every newline lands where a whole echo ends.
  let received = 0;
  let waiting = false;
  const socket = net.connect({
    host: '127.0.0.1',
    port,
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback(nread: number, buffer: Uint8Array): boolean {
        for (let i = 0; i < nread; i++) {
          if (buffer[i] !== NEWLINE) continue;
          if ((received + i + 1) % lineBytes !== 0) error('an echo did not match the line sent');
          // One line is in flight per connection: a newline while none is means the target
          // sent more than it was asked to, which must not count as speed.
          if (!waiting) {
            error('the target sent more lines than it received');
            continue;
          }
          roundTrips++;
          if (sending) {
            socket.write(line);
          } else {
            waiting = false;
            if (--inFlight === 0) onIdle?.();
          }
        }
        received += nread;
        return true;
      },
    },
  });
  sockets.push(socket);
  socket.on('error', (err) => error(`socket error: ${err.message}`));
  socket.on('close', () => {
    if (sending) error('the target closed a connection');
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () =>
      resolve(() => {
        waiting = true;
        inFlight++;
        socket.write(line);
      }),
    );
    socket.once('error', reject);
  });
}

const starters = await Promise.all(Array.from({ length: connections }, open)).catch((err: Error) =>
  fail(`connect failed: ${err.message}`),
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
    lineBytes,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
  },
});
exitWithRunner();

/** Ends our side and waits for the target to end its own, as a client that is done would. */
function close(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
