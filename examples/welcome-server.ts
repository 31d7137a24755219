/**
 * The seed's welcome server: greet every client with "Welcome to my server!", then echo.
 * Run: npx tsx examples/welcome-server.ts [port]   (default 8888; 0 = any free port)
 */
import { listen } from 'wirekit/net';

const port = Number(process.argv[2] ?? 8888);

const server = await listen({ port }, async (conn) => {
  console.log('Connected by', `${conn.remote.address}:${conn.remote.port}`);
  await conn.write('Welcome to my server!\n');
  for await (const data of conn) await conn.write(data);
});
console.log(`welcome server listening on ${server.address.address}:${server.address.port}`);
process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
