/** Routing, hono on @hono/node-server: 100 routes on hono's default router (SmartRouter). */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';
import { STATIC_COUNT, TWO_PARAM_COUNT } from './shared.js';

// #region doc
const app = new Hono();
for (let i = 0; i < STATIC_COUNT; i++) app.get(`/page${i}`, (c) => c.json({ page: i }));
for (let i = 0; i < TWO_PARAM_COUNT; i++) {
  app.get(`/r${i}/:a/:b`, (c) => c.json({ route: i, a: c.req.param('a'), b: c.req.param('b') }));
}
app.get('/users/:id/posts/:post', (c) => c.json({ id: c.req.param('id'), post: c.req.param('post') }));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, onListening);
// #endregion

function onListening(info: AddressInfo): void {
  report('listening', { port: info.port });
}
exitWithRunner();
