/**
 * The seed's tcpclient(): connect, read the welcome line, print it.
 * Run: npx tsx examples/welcome-client.ts [host] [port]   (default localhost 8888)
 * Start a server first: npx tsx examples/welcome-server.ts
 */
import { connect } from 'wirekit/net';

const host = process.argv[2] ?? 'localhost';
const port = Number(process.argv[3] ?? 8888);

const conn = await connect(host, port, { timeout: 5_000 });
console.log(await conn.readLine());
conn.close();
