/** Routing, express 5: 100 routes, matched in order as express does (the hit is registered last). */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';
import { STATIC_COUNT, TWO_PARAM_COUNT } from './shared.js';

// #region doc
const app = express();
for (let i = 0; i < STATIC_COUNT; i++) app.get(`/page${i}`, (req, res) => void res.json({ page: i }));
for (let i = 0; i < TWO_PARAM_COUNT; i++) {
  app.get(`/r${i}/:a/:b`, (req, res) => void res.json({ route: i, a: req.params.a, b: req.params.b }));
}
app.get('/users/:id/posts/:post', (req, res) => {
  res.json({ id: req.params.id, post: req.params.post });
});
const server = app.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as AddressInfo).port }));
exitWithRunner();
