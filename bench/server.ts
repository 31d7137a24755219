/**
 * @module bench/server
 * wirekit/server against raw node:http and the frameworks people pick instead (fastify, hono,
 * express), with aiohttp and nginx as reference lines: wrk drives each target in turn.
 */
import { references, version } from './lib/references.js';
import type { Area, BenchCase, Contender, DetailColumn, RunOptions } from './lib/types.js';
import type { ServerCase } from './server/shared.js';

/** wrk runs one thread: it is pinned to one core, where more threads would only take turns. */
const THREADS = 1;
const CONNECTIONS = 50;
const FASTIFY_RSS = { against: 'fastify', metric: 'rss', ratio: 1 } as const;
const FASTIFY_SPEED = { against: 'fastify', metric: 'value', ratio: 1 } as const;

const latency: DetailColumn[] = [
  { label: 'p50 latency', key: 'latencyP50Ms', unit: 'ms', digits: 2 },
  { label: 'p99 latency', key: 'latencyP99Ms', unit: 'ms', digits: 2 },
];

function contenders(which: ServerCase, wirekitTarget: number | null): Contender[] {
  const { aiohttp, nginx } = references();
  const file = (name: string) => `server/${which}-${name}.ts`;
  return [
    { name: 'node:http', script: file('node'), baseline: true },
    { name: 'wirekit', script: file('wirekit'), target: wirekitTarget, versus: [FASTIFY_SPEED, FASTIFY_RSS] },
    { name: 'fastify', script: file('fastify'), target: null },
    { name: 'hono', script: file('hono'), target: null },
    { name: 'express', script: file('express'), target: null },
    {
      name: 'aiohttp',
      script: 'server/aiohttp.ts',
      args: ['--case', which, '--python', typeof aiohttp === 'string' ? '' : aiohttp.python],
      target: null,
      doc: { file: 'server/aiohttp_app.py', region: which, lang: 'python' },
      ...(typeof aiohttp === 'string' ? { unavailable: aiohttp } : {}),
    },
    {
      name: 'nginx',
      script: 'server/nginx.ts',
      args: ['--nginx', typeof nginx === 'string' ? '' : nginx.nginx],
      target: null,
      doc: { file: 'server/nginx.conf', lang: 'nginx' },
      ...(typeof nginx === 'string'
        ? { unavailable: nginx }
        : which !== 'hello'
          ? { unavailable: 'a reference for the hello case only: it runs no application code' }
          : {}),
    },
  ];
}

function serverCase(
  which: ServerCase,
  fields: Pick<BenchCase, 'id' | 'title' | 'description'>,
  wirekitTarget: number | null,
): BenchCase {
  return {
    ...fields,
    unit: 'requests/s',
    target: null,
    contenders: contenders(which, wirekitTarget),
    load: ({ port, phase, options }) => ({
      script: 'server/wrk-load.ts',
      args: [
        ...['--port', String(port), '--case', which],
        ...['--threads', String(THREADS), '--connections', String(CONNECTIONS)],
        ...['--duration', String(phase === 'warmup' ? options.warmup : options.duration)],
      ],
    }),
    timeoutMs: (o) => (Math.max(o.duration, o.warmup) + 30) * 1000,
    columns: latency,
  };
}

const cases = (): BenchCase[] => [
  serverCase(
    'hello',
    {
      id: 'hello',
      title: 'Hello World',
      description:
        '`GET /` answers `Hello World!` as text. Every contender serves that one route; the figure is requests per second over the wrk run.',
    },
    0.95,
  ),
  serverCase(
    'routes',
    {
      id: 'routes',
      title: 'JSON route, 2 params, 100 routes',
      description:
        'Each contender registers 100 GET routes: 20 static (`/page0`...), 79 with two parameters (`/r0/:a/:b`...) and `/users/:id/posts/:post`, which wrk requests as `GET /users/12345/posts/67890`; the answer is `{"id":"12345","post":"67890"}`. The node:http baseline routes by hand (a Map for static paths, the path split on `/`, a Map from the first segment to the two-parameter routes); express matches its routes in order, the hit last.',
    },
    null,
  ),
  serverCase(
    'echo',
    {
      id: 'echo',
      title: 'JSON echo, 1 KiB POST',
      description:
        'wrk POSTs the same 1,024-byte JSON document (`Content-Type: application/json`; objects, an array of 16 objects, numbers, strings; `bench/server/shared.ts`) to `/echo`; the contender parses the body and sends the value back as JSON. The check before each run compares the parsed answer with the document sent. fastify uses a response schema describing the document (so fast-json-stringify writes the answer) and no body schema, as nobody else validates.',
    },
    null,
  ),
];

function intro(): string {
  const { aiohttp, nginx } = references();
  const hono = `hono ${version('hono')} on @hono/node-server ${version('@hono/node-server')}`;
  const refs = [
    typeof aiohttp === 'string' ? `aiohttp: not measured (${aiohttp})` : aiohttp.version,
    typeof nginx === 'string' ? `nginx: not measured (${nginx})` : nginx.version,
  ];
  return `Every contender is an HTTP/1.1 server on 127.0.0.1, in its own process on core 1, driven by [wrk](https://github.com/wg/wrk) on core 0 with ${THREADS} thread and ${CONNECTIONS} connections: **keep-alive, no pipelining** (wrk's default; each connection sends its next request once the answer arrived). Each measured wrk run follows a 1 s unmeasured one against the same target (checked for errors too): a target idles while the others are measured, and V8 shrinks an idle heap and may drop optimised code, so this measures the steady state rather than its first second back. One wrk thread because wrk has one core; ${CONNECTIONS} connections keep a single-core server busy at all times (its core is the limit, as the CPU column shows) without turning the run into a queueing test, and match the TCP area. The baseline is what a good Node developer writes on node:http alone; the frameworks are what their users write (code below); wirekit's contender imports the built package (\`wirekit/server\`). Contenders: wirekit, fastify ${version('fastify')}, ${hono}, express ${version('express')}, and as reference lines ${refs.join(' and ')}; nginx answers the hello case only (\`return 200\`), aiohttp serves all three.

Failures are failures: before each run one request checks the answer (status, type, body), and a wrk run that reports any **Non-2xx or 3xx responses** or **Socket errors** (connect, read, write, timeout: 2 s) fails its round, so a fast error never shows up as a fast result. RSS target is the target's peak resident set size during the measured window (sampled from \`/proc/PID/status\` every 250 ms; for nginx its worker, for aiohttp the Python process); latencies are wrk's percentiles, median over rounds. Targets: wirekit at least 0.95x node:http on hello, at least 1.00x fastify's requests/s on every case, and an RSS under load no larger than fastify's. The range column shows how much rounds vary on this shared VM; the ratios are paired by round (see Method), which cancels most of that drift.`;
}

const server: Area = {
  name: 'server',
  title: 'HTTP server: wirekit/server against node:http and the frameworks',
  get intro() {
    return intro();
  },
  runDescription: (o: RunOptions) =>
    `${o.rounds} rounds of ${Math.max(1, Math.round(o.duration))} s per contender, ${Math.max(1, Math.round(o.warmup))} s warm-up`,
  cases,
};

export default server;
