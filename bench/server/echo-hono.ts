/** JSON echo, hono on @hono/node-server: `c.req.json()` and `c.json()`. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = new Hono();
app.post('/echo', async (c) => c.json(await c.req.json()));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, onListening);
// #endregion

function onListening(info: AddressInfo): void {
  report('listening', { port: info.port });
}
exitWithRunner();
