/** Hello, express 5 with its defaults (ETag and X-Powered-By on, as most apps run it). */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = express();
app.get('/', (req, res) => {
  res.send('Hello World!');
});
const server = app.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
