/**
 * The seed's echo server: bind, listen, accept, and send every byte back until the client
 * closes. Run: npx tsx examples/echo-server.ts [port]   (default 9999; 0 = any free port)
 * Then:        npx wirekit connect 127.0.0.1 9999
 */
import { listen } from 'wirekit/net';

const port = Number(process.argv[2] ?? 9999);

// host 'localhost' as in the seed; backlog 5 is the seed's s.listen(5).
const server = await listen({ host: '127.0.0.1', port, backlog: 5 }, async (conn) => {
  console.log('Connected by', conn.remote.address, conn.remote.port);
  // recv(1024) / sendall(data) until recv returns nothing: async iteration does both.
  for await (const data of conn) await conn.write(data);
  console.log('Closed by', conn.remote.address, conn.remote.port);
});
console.log(`echo server listening on ${server.address.address}:${server.address.port}`);

// Ctrl+C: stop accepting, give open connections 2 s to finish, then close them.
process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
