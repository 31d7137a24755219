/**
 * The seed's Flask app: GET / answers "Hello World!" on port 5000.
 * Run: npx tsx examples/hello.ts            (then open http://127.0.0.1:5000/)
 * or:  npx wirekit serve examples/hello.ts --port 5000
 */
import { pathToFileURL } from 'node:url';
import { App } from 'wirekit/server';

const app = new App();

// @app.route('/') def hello(): return 'Hello World!'
app.get('/', () => 'Hello World!');

export default app;

// Run as a program (not loaded by `wirekit serve`): listen like Flask's app.run(), on port 5000.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 5000);
  const server = await app.listen({ port });
  console.log(`Running on ${server.url} (Ctrl+C to quit)`);
  process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
  process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
}
