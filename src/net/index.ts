/**
 * @module wirekit/net
 * asyncio-style TCP and UDP for TypeScript: `connect`, `listen`, `Stream`, `bindUdp`,
 * `resolve`/`reverse` and `sockets()` (TCP states from /proc).
 */
export { type Address, type StartTlsOptions, Stream, type StreamOptions } from './stream.js';
export {
  type CloseOptions,
  type ConnectionHandler,
  type ConnectOptions,
  connect,
  type ListenOptions,
  listen,
  Server,
} from './tcp.js';
