/**
 * The chat room of `wirekit demo`, run from its sources (src/demo/): edit the room or the page
 * (src/demo/page/) and restart, without a build. docs/demo.md explains the pieces, and the
 * "Guide: a chat room" of docs/ws.md builds them step by step.
 * Run: npx tsx examples/chat/main.ts              (then open http://127.0.0.1:8080/ twice)
 * or:  REDIS_URL=redis://127.0.0.1:6379 PORT=8081 TCP_PORT=9998 npx tsx examples/chat/main.ts
 */
import { startChat } from '../../src/demo/server.js';

const chat = await startChat({
  httpPort: Number(process.env.PORT ?? 8080),
  tcpPort: Number(process.env.TCP_PORT ?? 9999),
  redis: process.env.REDIS_URL,
});
console.log(
  `chat page on ${chat.http.url}, terminals on ${chat.tcp.address} ${chat.tcp.port} (Ctrl+C to quit)`,
);
process.once('SIGINT', () => void chat.close());
process.once('SIGTERM', () => void chat.close());
