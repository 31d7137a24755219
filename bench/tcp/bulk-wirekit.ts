/** Bulk echo target, wirekit: async iteration over chunks, each written back with backpressure. */
import { listen } from 'wirekit/net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const server = await listen({ port: 0 }, async (conn) => {
  for await (const chunk of conn) await conn.write(chunk);
});
// #endregion

report('listening', { port: server.address.port });
exitWithRunner();
