/** WebSocket echo target, wirekit: the route a user writes. `--memory` adds the memory probe. */
import { App } from 'wirekit/server';
import { exitWithRunner, report } from '../lib/child.js';
import { startMemoryProbe, wantsMemoryProbe } from './memory-control.js';

// #region doc
const app = new App();
app.ws('/', async (socket) => {
  for await (const message of socket) await socket.send(message);
});
const server = await app.listen({ port: 0 });
// #endregion

const control = wantsMemoryProbe() ? await startMemoryProbe() : undefined;
report('listening', { port: server.port, control });
exitWithRunner();
