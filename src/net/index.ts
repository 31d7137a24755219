/**
 * @module wirekit/net
 * asyncio-style TCP and UDP for TypeScript: `connect`, `listen`, `Stream`, `bindUdp`,
 * `resolve`/`reverse` and `sockets()` (TCP states from /proc).
 */
export {
  type ResolvedAddress,
  type ResolveOptions,
  type ReverseOptions,
  resolve,
  resolveDefaults,
  reverse,
  reverseDefaults,
} from './dns.js';
export {
  parseProcNetTcp,
  type SocketsOptions,
  sockets,
  socketsDefaults,
  TCP_STATES,
  type TcpSocketInfo,
  type TcpState,
} from './sockets.js';
export { type Address, type StartTlsOptions, Stream, type StreamOptions, streamDefaults } from './stream.js';
export {
  type CloseOptions,
  type ConnectionHandler,
  type ConnectOptions,
  connect,
  connectDefaults,
  type ListenOptions,
  listen,
  listenDefaults,
  Server,
} from './tcp.js';
export { bindUdp, type Datagram, type UdpOptions, UdpSocket, udpDefaults } from './udp.js';
