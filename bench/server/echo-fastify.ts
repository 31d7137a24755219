/**
 * JSON echo, fastify 5: its built-in JSON body parser (secure-json-parse, 1 MiB limit) and a
 * response schema describing the document, so the answer goes out through fast-json-stringify.
 * No body schema: wirekit and the others do not validate either.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = Fastify();
const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const document = {
  type: 'object',
  properties: {
    id: num,
    user: {
      type: 'object',
      properties: { name: str, email: str, admin: { type: 'boolean' } },
    },
    tags: { type: 'array', items: str },
    items: {
      type: 'array',
      items: { type: 'object', properties: { sku: str, qty: num, price: num } },
    },
    note: str,
  },
} as const;
app.post('/echo', { schema: { response: { 200: document } } }, async (req) => req.body);
await app.listen({ port: 0, host: '127.0.0.1' });
// #endregion

report('listening', { port: (app.server.address() as AddressInfo).port });
exitWithRunner();
