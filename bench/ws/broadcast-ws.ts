/** WebSocket broadcast target, raw ws: every message a client sends goes to every other client. */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const wss = new WebSocketServer({ port: 0 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
// #endregion

await new Promise((resolve) => wss.once('listening', resolve));
report('listening', { port: (wss.address() as AddressInfo).port });
exitWithRunner();
