/**
 * Bulk echo load: one connection sends `--mib` MiB in 64 KiB writes, honouring backpressure,
 * while reading the echo back into one preallocated buffer. Throughput is the size over the
 * time from the first write to the last echoed byte.
 *
 * The bytes follow a pattern of period 251 (prime, so it never lines up with chunk sizes);
 * the first and last byte of every read are checked against it, which catches lost, repeated
 * or reordered chunks at no real cost.
 *
 * Events: start, end (last byte received), result.
 */
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';

const port = numberArg('port');
const total = numberArg('mib') * 1024 * 1024;
const chunkBytes = numberArg('chunk-kib') * 1024;

const PERIOD = 251;
/** Seconds without a received byte after which the target is declared stuck. */
const STALL_SECONDS = 10;

const pattern = Buffer.allocUnsafe(chunkBytes + PERIOD);
for (let i = 0; i < pattern.length; i++) pattern[i] = i % PERIOD;
const readBuffer = Buffer.allocUnsafe(64 * 1024);

let sent = 0;
let received = 0;
let corrupt = false;
let startTime = 0;
let onDone: () => void = () => {};
let onFail: (err: Error) => void = () => {};
const finished = new Promise<void>((resolve, reject) => {
  onDone = resolve;
  onFail = reject;
});

const socket = net.connect({
  host: '127.0.0.1',
  port,
  noDelay: true,
  onread: {
    buffer: readBuffer,
    callback(nread: number, buffer: Uint8Array): boolean {
      if (buffer[0] !== received % PERIOD || buffer[nread - 1] !== (received + nread - 1) % PERIOD) {
        corrupt = true;
      }
      received += nread;
      if (received >= total) onDone();
      return true;
    },
  },
});
socket.on('error', (err) => onFail(err));
socket.on('close', () => onFail(new Error(`the target closed after echoing ${received} of ${total} bytes`)));
await new Promise<void>((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('error', reject);
}).catch((err: Error) => fail(`connect failed: ${err.message}`));

function pump(): void {
  while (sent < total) {
    const offset = sent % PERIOD;
    const size = Math.min(chunkBytes, total - sent);
    sent += size;
    if (!socket.write(pattern.subarray(offset, offset + size))) {
      socket.once('drain', pump);
      return;
    }
  }
}

let lastReceived = -1;
const watchdog = setInterval(() => {
  if (received === lastReceived) onFail(new Error(`stalled for ${STALL_SECONDS} s at ${received} bytes`));
  lastReceived = received;
}, STALL_SECONDS * 1000);

const startCpu = process.cpuUsage();
report('start');
startTime = performance.now();
pump();
const outcome = await finished.then(
  () => null,
  (err: Error) => err.message,
);
const seconds = (performance.now() - startTime) / 1000;
const cpu = process.cpuUsage(startCpu);
clearInterval(watchdog);
report('end');
socket.removeAllListeners('close');
socket.end();

const error =
  outcome ?? (corrupt ? 'the echo differs from the bytes sent' : received > total ? 'echo too long' : null);
report('result', {
  ok: error === null,
  value: error === null ? total / 1024 / 1024 / seconds : 0,
  error: error ?? undefined,
  detail: { bytes: received, seconds, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000 },
});
exitWithRunner();
