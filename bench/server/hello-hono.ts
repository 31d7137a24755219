/** Hello, hono on @hono/node-server (its adapter from node:http to web Request/Response). */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = new Hono();
app.get('/', (c) => c.text('Hello World!'));
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, onListening);
// #endregion

function onListening(info: AddressInfo): void {
  report('listening', { port: info.port });
}
exitWithRunner();
