/** WebSocket echo target, raw ws: what a good ws user writes. `--memory` adds the memory probe. */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { exitWithRunner, report } from '../lib/child.js';
import { startMemoryProbe, wantsMemoryProbe } from './memory-control.js';

// #region doc
const wss = new WebSocketServer({ port: 0 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
// #endregion

await new Promise((resolve) => wss.once('listening', resolve));
const control = wantsMemoryProbe() ? await startMemoryProbe() : undefined;
report('listening', { port: (wss.address() as AddressInfo).port, control });
exitWithRunner();
