/**
 * @module wirekit/ws/engine
 * Loads ws, the frame engine, on first use: an app without WebSocket routes never loads it.
 */
import { createRequire } from 'node:module';
import type * as Ws from 'ws';

export type WsModule = typeof Ws;
export type RawWebSocket = Ws.WebSocket;
export type RawWebSocketClass = WsModule['WebSocket'];
export type RawServer = Ws.WebSocketServer;
export type RawServerOptions = Ws.ServerOptions;
export type RawClientOptions = Ws.ClientOptions;

let engine: WsModule | undefined;

/** The ws module, required on first call (it is CommonJS; its ESM wrapper would load eagerly). */
export function ws(): WsModule {
  return (engine ??= createRequire(import.meta.url)('ws') as WsModule);
}
