/**
 * Server-Sent Events: the time, every second, to every client that listens.
 * Run: npx tsx examples/sse-clock.ts   then:  curl -N http://127.0.0.1:5000/clock
 * (or open http://127.0.0.1:5000/ in a browser)
 */
import { setInterval as every } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { App } from 'wirekit/server';

const page = `<!doctype html><title>clock</title><h1 id="t">…</h1>
<script>new EventSource('/clock').addEventListener('tick', (e) => (t.textContent = JSON.parse(e.data).time));</script>`;

const app = new App();
app.get('/', () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
app.get('/clock', (ctx) =>
  ctx.sse(
    (async function* () {
      // ctx.signal ends the timer when the client goes away.
      for await (const _ of every(1_000, undefined, { signal: ctx.signal })) {
        yield { event: 'tick', data: { time: new Date().toISOString() } };
      }
    })(),
  ),
);

export default app;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await app.listen({ port: Number(process.env.PORT ?? 5000) });
  console.log(`Running on ${server.url}`);
  process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
  process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
}
