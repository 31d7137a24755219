/**
 * Line echo baseline: the line splitter a good Node developer writes on node:net. It matches
 * what wirekit does per line (UTF-8 decoding, `\r\n` accepted, one write per line, pause while
 * the socket's buffer is full) so the comparison is the cost of the abstraction, not of a
 * different protocol.
 */
import * as net from 'node:net';
import { exitWithRunner, report } from '../lib/child.js';

// #region doc
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.setEncoding('utf8');
  let pending = '';
  socket.on('data', (data: string) => {
    const text = pending === '' ? data : pending + data;
    let start = 0;
    let end = text.indexOf('\n');
    while (end !== -1) {
      const line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
      socket.write(`${line}\n`);
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    pending = start === text.length ? '' : text.slice(start);
    if (socket.writableNeedDrain) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1');
// #endregion

server.once('listening', () => report('listening', { port: (server.address() as net.AddressInfo).port }));
exitWithRunner();
