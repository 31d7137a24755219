/** Routing, wirekit: 100 routes on its radix router (find-my-way), handlers returning objects. */
import { App } from 'wirekit/server';
import { exitWithRunner, report } from '../lib/child.js';
import { STATIC_COUNT, TWO_PARAM_COUNT } from './shared.js';

// #region doc
const app = new App();
for (let i = 0; i < STATIC_COUNT; i++) app.get(`/page${i}`, () => ({ page: i }));
for (let i = 0; i < TWO_PARAM_COUNT; i++) {
  app.get(`/r${i}/:a/:b`, (ctx) => ({ route: i, a: ctx.params.a, b: ctx.params.b }));
}
app.get('/users/:id/posts/:post', (ctx) => ({ id: ctx.params.id, post: ctx.params.post }));
const server = await app.listen({ port: 0 });
// #endregion

report('listening', { port: server.port });
exitWithRunner();
