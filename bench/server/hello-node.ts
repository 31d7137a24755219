/**
 * Hello baseline: the best a Node developer does on node:http alone. One writeHead with one
 * headers object, Content-Length set, the body written with end(): nothing goes chunked.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const body = 'Hello World!';
const headers = { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) };

const server = http.createServer((req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
