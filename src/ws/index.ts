/**
 * @module wirekit/ws
 * WebSocket on both ends, over ws: `app.ws()` routes (in wirekit/server) and `connectWebSocket()`
 * hand out the same `WebSocket`: async iteration over messages, `send()` with backpressure,
 * `close()`, `ping()`, heartbeats and safe limits by default.
 */
export {
  type ConnectWebSocketOptions,
  connectWebSocket,
  connectWebSocketDefaults,
  webSocketUrl,
} from './client.js';
export { type CloseInfo, Message, WebSocket, type WebSocketData } from './socket.js';
export { type WebSocketHandler, type WebSocketRouteOptions, wsRouteDefaults } from './server.js';
export {
  type EventsOptions,
  type Hub,
  hubDefaults,
  type HubMember,
  type HubOptions,
  type JoinOptions,
  type LeaveReason,
  MemoryHub,
  type Presence,
  type PresenceEvent,
  type PublishOptions,
} from './hub.js';
export { RedisHub, redisHubDefaults, type RedisHubOptions } from './redis-hub.js';
