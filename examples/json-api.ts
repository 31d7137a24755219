/**
 * A JSON CRUD API: route params, bodies, status codes and errors.
 * Run: npx tsx examples/json-api.ts   then:
 *      curl -X POST -H 'content-type: application/json' -d '{"title":"milk"}' http://127.0.0.1:5000/items
 *      curl http://127.0.0.1:5000/items/1
 */
import { pathToFileURL } from 'node:url';
import { App, badRequest, notFound } from 'wirekit/server';

interface Item {
  id: number;
  title: string;
  done: boolean;
}

const items = new Map<number, Item>();
let nextId = 1;

function find(id: string): Item {
  const item = items.get(Number(id));
  if (!item) throw notFound(`no item ${id}`);
  return item;
}

function titleOf(body: unknown): string {
  const title = (body as { title?: unknown } | null)?.title;
  if (typeof title !== 'string' || title.trim() === '') throw badRequest('title must be a non-empty string');
  return title.trim();
}

const app = new App();
app.get('/items', () => [...items.values()]);
app.get('/items/:id', (ctx) => find(ctx.params.id!));
app.post('/items', async (ctx) => {
  const item = { id: nextId++, title: titleOf(await ctx.json()), done: false };
  items.set(item.id, item);
  ctx.status = 201;
  ctx.set('location', `/items/${item.id}`);
  return item;
});
app.patch('/items/:id', async (ctx) => {
  const item = find(ctx.params.id!);
  const body = (await ctx.json()) as Partial<Item>;
  if (body.title !== undefined) item.title = titleOf(body);
  if (body.done !== undefined) item.done = Boolean(body.done);
  return item;
});
app.delete('/items/:id', (ctx) => {
  items.delete(find(ctx.params.id!).id);
  return undefined; // 204 No Content
});

export default app;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await app.listen({ port: Number(process.env.PORT ?? 5000) });
  console.log(`Running on ${server.url}`);
  process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
  process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
}
