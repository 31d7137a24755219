/**
 * @module bench/client
 * wirekit/client against undici.request, the engine it runs on, and the clients people pick
 * instead (fetch, axios, got, node:http), with aiohttp as a reference line; and extractLinks
 * (wirekit/html) against raw htmlparser2 and cheerio. Here the contenders are the clients: each
 * round runs each one as a fresh process on the target core.
 */
import { references, version } from './lib/references.js';
import type { Area, ClientCase, Contender, RunOptions } from './lib/types.js';

const CONCURRENCY = 32;
/** The warm-up each client process runs before its measured requests (fewer when fewer are measured). */
const WARMUP_REQUESTS = 5_000;
const BODY_BYTES = 1024;
/** The two URLs of the same file: without caching headers, and marked fresh for a day. */
const PLAIN_PATH = '/data.txt';
const CACHED_PATH = '/cached.txt';
const PAGE_BYTES = 5_000_000;

const warmupRequests = (o: RunOptions) => Math.min(WARMUP_REQUESTS, o.requests);

function getContenders(): Contender[] {
  const { aiohttp, nginx } = references();
  const plain = ['--path', PLAIN_PATH];
  const list: Contender[] = [
    { name: 'undici.request', script: 'client/get-undici.ts', args: plain, baseline: true },
    {
      name: 'wirekit',
      script: 'client/get-wirekit.ts',
      args: plain,
      target: 0.85,
      versus: [{ against: 'fetch', metric: 'value', ratio: 3 }],
    },
    { name: 'wirekit cache', script: 'client/get-wirekit-cache.ts', args: ['--path', CACHED_PATH] },
    { name: 'fetch', script: 'client/get-fetch.ts', args: plain },
    { name: 'axios', script: 'client/get-axios.ts', args: plain },
    { name: 'got', script: 'client/get-got.ts', args: plain },
    { name: 'node:http', script: 'client/get-node.ts', args: plain },
    {
      name: 'aiohttp',
      script: 'client/aiohttp.ts',
      args: ['--python', typeof aiohttp === 'string' ? '' : aiohttp.python, ...plain],
      doc: { file: 'client/aiohttp_client.py', lang: 'python' },
      ...(typeof aiohttp === 'string' ? { unavailable: aiohttp } : {}),
    },
  ];
  // Without the server there is nothing to measure against.
  return typeof nginx === 'string' ? list.map((c) => ({ ...c, unavailable: nginx })) : list;
}

const gets = (options: RunOptions): ClientCase => {
  const { nginx } = references();
  return {
    mode: 'client',
    id: 'get',
    title: `GET ${BODY_BYTES / 1024} KiB, ${CONCURRENCY} in flight`,
    description: `Each client process makes ${warmupRequests(options).toLocaleString('en-US')} GETs to warm up, then ${options.requests.toLocaleString('en-US')} measured ones, ${CONCURRENCY} in flight: ${CONCURRENCY} loops each await their own request and then send the next, all on one client (session, agent) with keep-alive, so ${CONCURRENCY} connections stay open. nginx answers \`GET ${PLAIN_PATH}\` with a ${BODY_BYTES.toLocaleString('en-US')}-byte ASCII file (\`text/plain; charset=utf-8\`, no compression; \`bench/client/nginx.conf\`: \`keepalive_requests 1000000\`, so nginx closes no connection during a run, \`sendfile\`, \`open_file_cache\`); every client reads the body as text, and every answer, warm-up included, is checked: status 200 and a body of exactly ${BODY_BYTES.toLocaleString('en-US')} characters (\`bench/client/gets.ts\`, \`bench/client/aiohttp_client.py\`). The figure is requests per second over the measured requests. wirekit is a \`Session\` with its defaults: cookie jar, redirects, decompression all on (nginx sets no cookie and sends no redirect or encoding, so they cost what they cost when unused). "wirekit cache" is \`new Session({ cache: true })\` asking \`GET ${CACHED_PATH}\`, the same file with \`Cache-Control: max-age=86400\`: after the first answer it is served from the session's memory. fetch is Node's global fetch; axios and got run on node:http's global Agent, which keeps connections alive since Node 19. Versions: undici ${version('undici')}, axios ${version('axios')}, got ${version('got')}.`,
    unit: 'requests/s',
    target: null,
    contenders: getContenders(),
    server:
      typeof nginx === 'string'
        ? null
        : { script: 'client/nginx.ts', args: ['--nginx', nginx.nginx, '--bytes', String(BODY_BYTES)] },
    clientArgs: ({ port, options: o }) => [
      ...['--port', String(port), '--requests', String(o.requests)],
      ...['--warmup-requests', String(warmupRequests(o)), '--concurrency', String(CONCURRENCY)],
      ...['--bytes', String(BODY_BYTES)],
    ],
    // Generous: a slow client on a busy machine still does more than 250 requests/s.
    timeoutMs: (o) => ((o.requests + warmupRequests(o)) / 250 + 30) * 1000,
  };
};

const links = (options: RunOptions): ClientCase => ({
  mode: 'client',
  id: 'extract-links',
  title: `extractLinks, ${PAGE_BYTES / 1e6} MB page`,
  description: `Each contender takes the links out of the same generated page (\`bench/client/page.ts\`): a news listing of ${(PAGE_BYTES / 1e6).toFixed(0)} MB of HTML held as a string, with some 35,000 links in \`<a href>\`, \`<img src>\`, \`<link href>\` and \`<script src>\`, relative and absolute, some with \`&amp;\` in the query, and non-ASCII text. It parses the page over and over for ${options.warmup} s to warm up, then for ${options.duration} s measured (whole parses, at least one each); the figure is the page's UTF-8 bytes per second, in MB/s (10^6). No server: each process works alone on the target core. The first parse's URLs must equal the page's, in order; every later one must find as many links, the same first and the same last (\`bench/client/parses.ts\`). The baseline is htmlparser2 ${version('htmlparser2')}, the parser extractLinks runs on, with the handler a developer writes: the URL attribute of the usual link tags, resolved with \`URL\`; extractLinks does more (srcset, \`<base>\`, rel, the text of each \`<a>\`), all of it counted. cheerio ${version('cheerio')} parses with parse5 (its default for documents) and selects the same tags.`,
  unit: 'MB/s',
  target: null,
  contenders: [
    { name: 'htmlparser2', script: 'client/links-htmlparser2.ts', baseline: true },
    {
      name: 'wirekit',
      script: 'client/links-wirekit.ts',
      target: 0.9,
      versus: [{ against: 'cheerio', metric: 'value', ratio: 2 }],
    },
    { name: 'cheerio', script: 'client/links-cheerio.ts' },
  ],
  server: null,
  clientArgs: ({ options: o }) => [
    ...['--page-bytes', String(PAGE_BYTES)],
    ...['--warmup', String(o.warmup), '--duration', String(o.duration)],
  ],
  timeoutMs: (o) => (o.warmup + o.duration + 60) * 1000,
});

function intro(): string {
  const { aiohttp, nginx } = references();
  const refs = [
    typeof nginx === 'string' ? `nginx: not installed (${nginx})` : nginx.version,
    typeof aiohttp === 'string' ? `aiohttp: not measured (${aiohttp})` : aiohttp.version,
  ];
  return `Here the contenders are the clients: the process measured is the client, so the CPU and RSS columns are the client's. Each round starts every contender as a new \`node\` process (for aiohttp, a Python one) on core 1, which warms itself up, then reports the start and the end of its measured work and its result. The server of the GET case is nginx with one worker on core 0, started once for the case; its worker's CPU is the "CPU server" column, which should stay well under 100% (else nginx, not the client, is the limit). The baseline is undici.request, the API of the engine wirekit's client runs on; the others are what their users write (code below), wirekit's contenders importing the built package (\`wirekit/client\`, \`wirekit/html\`). Reference lines: ${refs.join(', ')}.

Failures are failures: every answer is checked (status 200, the body's length; for extractLinks the links found), and one wrong answer or failed request fails the round. Targets: wirekit's Session with its defaults at least 0.85x undici.request and at least 3x fetch; extractLinks at least 0.9x raw htmlparser2 and at least 2x cheerio. The other contenders are shown for comparison.`;
}

const client: Area = {
  name: 'client',
  title: 'HTTP client and links: wirekit/client and wirekit/html against undici and the libraries',
  get intro() {
    return intro();
  },
  runDescription: (o: RunOptions) =>
    `${o.rounds} round${o.rounds === 1 ? '' : 's'}; per client process ${warmupRequests(o).toLocaleString('en-US')} warm-up GETs, then ${o.requests.toLocaleString('en-US')} measured; extractLinks ${o.warmup} s warm-up, then ${o.duration} s`,
  cases: (options) => [gets(options), links(options)],
};

export default client;
