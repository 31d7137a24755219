/** Line echo target, wirekit: the handler a user writes with `lines()` and `write()`. */
import { listen } from 'wirekit/net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const server = await listen({ port: 0 }, async (conn) => {
  for await (const line of conn.lines()) await conn.write(`${line}\n`);
});
// #endregion

report('listening', { port: server.address.port });
exitWithRunner();
