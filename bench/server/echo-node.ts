/**
 * JSON echo baseline on node:http: the body buffered from its chunks, one JSON.parse, one
 * JSON.stringify, one writeHead with Content-Length. No Content-Type check and no size limit:
 * less work than any framework does, which is what a baseline is for.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/echo') return send(res, 404, { error: 'Not Found' });
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { error: 'invalid JSON' });
    }
    send(res, 200, value);
  });
});
server.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
