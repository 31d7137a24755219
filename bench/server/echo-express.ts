/** JSON echo, express 5: the `express.json()` body parser on the route, `res.json()` back. */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = express();
app.post('/echo', express.json(), (req, res) => {
  res.json(req.body);
});
const server = app.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
