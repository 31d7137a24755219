/** WebSocket broadcast target, wirekit: a room of a MemoryHub that every socket joins. */
import { App } from 'wirekit/server';
import { MemoryHub } from 'wirekit/ws';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const hub = new MemoryHub();
const app = new App();
app.ws('/', async (socket) => {
  await hub.join('room', socket);
  for await (const message of socket) await hub.publish('room', message.data, { except: socket });
});
const server = await app.listen({ port: 0 });
// #endregion

report('listening', { port: server.port });
exitWithRunner();
