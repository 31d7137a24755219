/**
 * @module bench/ws
 * wirekit/ws against raw ws, the engine it runs on, with python websockets as a reference
 * line: echo round trips, a broadcast to many clients, and the memory of idle connections.
 */
import { version, websocketsReference } from './lib/references.js';
import type { Area, BenchCase, Contender, RunOptions } from './lib/types.js';

const ECHO_CONNECTIONS = 50;
const MESSAGE_BYTES = 1024;

type WsCase = 'echo' | 'broadcast';

/** ws (baseline), wirekit, and python websockets when a python3 has it. */
function contenders(which: WsCase, memory: boolean): Contender[] {
  const python = websocketsReference();
  const flag = memory ? ['--memory'] : [];
  return [
    { name: 'ws', script: `ws/${which}-ws.ts`, args: flag, baseline: true },
    { name: 'wirekit', script: `ws/${which}-wirekit.ts`, args: flag },
    {
      name: 'python websockets',
      script: 'ws/websockets.ts',
      args: ['--case', which, '--python', typeof python === 'string' ? '' : python.python, ...flag],
      target: null,
      doc: { file: 'ws/websockets_app.py', region: which, lang: 'python' },
      ...(typeof python === 'string' ? { unavailable: python } : {}),
    },
  ];
}

const echo = (): BenchCase => ({
  id: 'echo',
  title: `Echo, ${ECHO_CONNECTIONS} connections, 1 KiB`,
  description: `${ECHO_CONNECTIONS} connections each send a ${MESSAGE_BYTES.toLocaleString('en-US')}-byte binary message and wait for its echo before sending the next, for the measurement's duration; the figure is completed round trips per second over all connections. The load generator (\`bench/ws/echo-load.ts\`) uses ws clients (\`perMessageDeflate: false\`: no contender compresses) and checks every echo: binary, ${MESSAGE_BYTES.toLocaleString('en-US')} bytes, and the connection's number and sequence number it put in the first eight bytes, so a lost, extra, mixed-up or truncated echo fails the run.`,
  unit: 'round trips/s',
  target: 0.9,
  contenders: contenders('echo', false),
  load: ({ port, phase, options }) => ({
    script: 'ws/echo-load.ts',
    args: [
      ...['--port', String(port), '--connections', String(ECHO_CONNECTIONS)],
      ...['--message-bytes', String(MESSAGE_BYTES)],
      ...['--duration', String(phase === 'warmup' ? options.warmup : options.duration)],
    ],
  }),
  timeoutMs: (o) => (Math.max(o.duration, o.warmup) + 30) * 1000,
});

const broadcast = (options: RunOptions): BenchCase => ({
  id: 'broadcast',
  title: `Broadcast to ${options.broadcastClients.toLocaleString('en-US')} clients, 1 KiB`,
  description: `The load generator (\`bench/ws/broadcast-load.ts\`) opens ${options.broadcastClients.toLocaleString('en-US')} receiving connections and one sender on the target's route; the sender sends numbered ${MESSAGE_BYTES.toLocaleString('en-US')}-byte binary messages and the target relays each to every other connection, as a chat room does. At most 32 messages are in flight (sent, not yet received by every client), which keeps the target busy and its buffers bounded. The figure is messages delivered per second: deliveries to clients over the measurement's duration. Every delivery is checked: its length, and that it is the next sequence number for that client (nothing lost, duplicated or reordered); after the window, every message sent must reach every client. The receivers are minimal clients (\`bench/ws/raw-client.ts\`: the handshake by hand over node:net, frames parsed from one shared read buffer, four bytes of each message read), so that one load-generator process spends less per delivery than the target. ws relays in a loop over \`wss.clients\` (ws's own broadcast example); wirekit through a \`MemoryHub\` room that every socket joins (\`publish\` with \`except\`: wirekit's broadcast feature, with its per-member backlog accounting); python websockets with \`websockets.broadcast()\`. Set the number of clients with \`--broadcast-clients\`.`,
  unit: 'deliveries/s',
  target: 0.9,
  contenders: contenders('broadcast', false),
  load: ({ port, phase, options: o }) => ({
    script: 'ws/broadcast-load.ts',
    args: [
      ...['--port', String(port), '--clients', String(o.broadcastClients)],
      ...['--message-bytes', String(MESSAGE_BYTES)],
      ...['--duration', String(phase === 'warmup' ? o.warmup : o.duration)],
    ],
  }),
  timeoutMs: (o) => (Math.max(o.duration, o.warmup) + 60 + o.broadcastClients / 50) * 1000,
});

const memory = (options: RunOptions): BenchCase => ({
  id: 'memory',
  title: `Memory, ${options.idleConnections.toLocaleString('en-US')} idle connections`,
  description: `Each round starts every target afresh (no warm-up), runs the echo server above, and the load generator (\`bench/ws/memory-load.ts\`) opens ${options.idleConnections.toLocaleString('en-US')} WebSocket connections that then send nothing (after 16 it keeps open first, so the code the first connections load is counted on both sides). The target answers a probe on a second port (\`bench/ws/memory-control.ts\`; Python: \`websockets_app.py\`) with its RSS and V8's heap used, after full garbage collections, before and after those connections; the figure is the growth of the RSS per connection, **lower is better**, and the heap column the growth of the heap per connection (steadier than the RSS; Python reports none). Every connection must be open at the end. Each process needs a file descriptor per connection: \`ulimit -n\` must exceed the count (it is 20,000 on the machine recorded); set it with \`--idle-connections\`. wirekit's sockets have the default 30 s heartbeat (ws's and Python's servers: none and 20 s; the RawClient answers pings).`,
  unit: 'bytes/connection',
  lowerIsBetter: true,
  target: 1.1,
  contenders: contenders('echo', true),
  freshTarget: true,
  load: ({ port, listening, options: o }) => ({
    script: 'ws/memory-load.ts',
    args: [
      ...['--port', String(port), '--control', String(listening.control)],
      ...['--connections', String(o.idleConnections)],
    ],
  }),
  timeoutMs: (o) => (60 + o.idleConnections / 100) * 1000,
  columns: [{ label: 'heap/connection', key: 'heapBytes', unit: 'bytes' }],
});

function intro(): string {
  const python = websocketsReference();
  const reference =
    typeof python === 'string' ? `python websockets: not measured (${python})` : `python ${python.version}`;
  return `Every contender is a WebSocket server on 127.0.0.1, in its own process on core 1, driven by a Node load generator on core 0. The baseline is what a good ws user writes on ws ${version('ws')} alone (\`new WebSocketServer({ port: 0 })\`, no compression, ws's defaults); wirekit's contender is the \`app.ws()\` route a wirekit user writes, importing the built package (\`wirekit/server\`, \`wirekit/ws\`), on the same ws underneath; the reference line is ${reference}, with its legacy \`websockets.serve\` on plain asyncio. No client offers permessage-deflate. Targets: wirekit at least 0.9x ws on echo round trips and on broadcast deliveries, and at most 1.1x ws's RSS per idle connection.`;
}

const ws: Area = {
  name: 'ws',
  title: 'WebSocket: wirekit/ws against ws',
  get intro() {
    return intro();
  },
  runDescription: (o: RunOptions) =>
    `${o.rounds} rounds of ${o.duration} s, ${o.warmup} s warm-up; ${o.broadcastClients} broadcast clients, ${o.idleConnections} idle connections`,
  cases: (options) => [echo(), broadcast(options), memory(options)],
};

export default ws;
