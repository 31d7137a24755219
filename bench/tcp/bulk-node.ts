/** Bulk echo baseline: node:net's own stream plumbing, the fastest echo Node has. */
import * as net from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.pipe(socket);
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as net.AddressInfo).port }));
exitWithRunner();
