/**
 * Routing, fastify 5: 100 routes (find-my-way, like wirekit), and the hit route with a
 * response schema, so fastify serialises it with fast-json-stringify: what its docs recommend.
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';
import { STATIC_COUNT, TWO_PARAM_COUNT } from './shared.js';

// #region doc
const app = Fastify();
type TwoParams = { Params: { a: string; b: string } };
for (let i = 0; i < STATIC_COUNT; i++) app.get(`/page${i}`, async () => ({ page: i }));
for (let i = 0; i < TWO_PARAM_COUNT; i++) {
  app.get<TwoParams>(`/r${i}/:a/:b`, async (req) => ({ route: i, a: req.params.a, b: req.params.b }));
}
const userPost = {
  response: {
    200: {
      type: 'object',
      properties: { id: { type: 'string' }, post: { type: 'string' } },
      required: ['id', 'post'],
    },
  },
};
app.get<{ Params: { id: string; post: string } }>(
  '/users/:id/posts/:post',
  { schema: userPost },
  async (req) => ({ id: req.params.id, post: req.params.post }),
);
await app.listen({ port: 0, host: '127.0.0.1' });
// #endregion

report('listening', { port: (app.server.address() as AddressInfo).port });
exitWithRunner();
