/** Hello, fastify 5 with its defaults (no logger). */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = Fastify();
app.get('/', async () => 'Hello World!');
await app.listen({ port: 0, host: '127.0.0.1' });
// #endregion

report('listening', { port: (app.server.address() as AddressInfo).port });
exitWithRunner();
