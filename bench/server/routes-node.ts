/**
 * Routing baseline on node:http: the hand-written router a good Node developer writes for a
 * fixed table: a Map for the static paths, and the path split on `/` with a Map from the first
 * segment to the two-parameter routes. Parameters are percent-decoded when they need it, as
 * every router does; one writeHead with Content-Length, as in the hello case.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';
import { STATIC_COUNT, TWO_PARAM_COUNT } from './shared.js';

// #region doc
const statics = new Map<string, () => unknown>();
for (let i = 0; i < STATIC_COUNT; i++) statics.set(`/page${i}`, () => ({ page: i }));
const twoParams = new Map<string, (a: string, b: string) => unknown>(); // 'rN' -> /rN/:a/:b
for (let i = 0; i < TWO_PARAM_COUNT; i++) twoParams.set(`r${i}`, (a, b) => ({ route: i, a, b }));

const param = (s: string) => (s.includes('%') ? decodeURIComponent(s) : s);

/** What the route for `path` answers; undefined when none matches. */
function route(path: string): unknown {
  const page = statics.get(path);
  if (page !== undefined) return page();
  const p = path.split('/'); // ['', 'users', '12345', 'posts', '67890']
  if (p.length === 5 && p[1] === 'users' && p[3] === 'posts' && p[2] && p[4]) {
    return { id: param(p[2]), post: param(p[4]) };
  }
  const twoParam = p.length === 4 && p[2] && p[3] ? twoParams.get(p[1]!) : undefined;
  return twoParam?.(param(p[2]!), param(p[3]!));
}

function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = req.url!;
  const q = url.indexOf('?');
  let value: unknown;
  try {
    value = req.method === 'GET' ? route(q === -1 ? url : url.slice(0, q)) : undefined;
  } catch {
    return send(res, 400, { error: 'malformed URL encoding' });
  }
  if (value === undefined) send(res, 404, { error: 'Not Found' });
  else send(res, 200, value);
});
server.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
