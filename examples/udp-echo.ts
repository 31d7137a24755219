/**
 * UDP, the connectionless side of the seeds: an echo server and a client in one program.
 * Run: npx tsx examples/udp-echo.ts [message]
 */
import { bindUdp } from 'wirekit/net';

const message = process.argv[2] ?? 'hello, udp';

// The server: every datagram goes back to where it came from.
const server = await bindUdp({ host: '127.0.0.1', port: 0 });
const serving = (async () => {
  for await (const { data, address, port } of server) await server.send(data, port, address);
})();
console.log(`udp echo server on ${server.address.address}:${server.address.port}`);

// The client: send one datagram and wait for its echo (UDP may drop it, so bound the wait).
const client = await bindUdp({ host: '127.0.0.1' });
await client.send(message, server.address.port, '127.0.0.1');
const reply = await Promise.race([
  client.receive(),
  new Promise<null>((resolve) => setTimeout(() => resolve(null), 2_000)),
]);
console.log(
  reply ? `echo from ${reply.address}:${reply.port}: ${reply.data.toString()}` : 'no echo within 2 s',
);

await client.close();
await server.close();
await serving;
process.exitCode = reply ? 0 : 1;
