/**
 * JSON echo, wirekit: `ctx.json()` (Content-Type check, 1 MiB limit, strict UTF-8, prototype
 * pollution keys removed), the parsed value returned as the response.
 */
import { App } from 'wirekit/server';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const app = new App();
app.post('/echo', async (ctx) => await ctx.json());
const server = await app.listen({ port: 0 });
// #endregion

report('listening', { port: server.port });
exitWithRunner();
