/**
 * The seed's telnet(): socket.create_connection((host, port), timeout, source_address), then
 * send each line typed at the "> " prompt and print the reply. An empty line or Ctrl+D ends it.
 * Run: npx tsx examples/telnet-client.ts [host] [port] [source-address]
 *      (default localhost 23; try port 9999 with `npx wirekit echo` running)
 */
import { createInterface } from 'node:readline/promises';
import { connect } from 'wirekit/net';

const [host = 'localhost', port = '23', source] = process.argv.slice(2);

// create_connection's timeout and source_address are connect()'s timeout and localAddress.
const conn = await connect(host, Number(port), { timeout: 5_000, localAddress: source });
console.log(
  `connected from ${conn.local.address}:${conn.local.port} to ${conn.remote.address}:${conn.remote.port}`,
);

// Whatever the server sends (a banner, the replies) is printed as it arrives.
const printing = (async () => {
  for await (const reply of conn) process.stdout.write(reply);
})();

const input = createInterface({ input: process.stdin, output: process.stdout, terminal: false });
input.setPrompt('> ');
input.prompt();
for await (const line of input) {
  if (line === '') break;
  await conn.write(`${line}\n`);
  input.prompt();
}
input.close();
await conn.end(); // half-close: the server sees EOF, answers what is left, and closes
await printing;
conn.close();
