/**
 * Multipart uploads: fields and files streamed to disk, with size limits.
 * Run: npx tsx examples/upload.ts   then:
 *      curl -F note=hello -F file=@README.md http://127.0.0.1:5000/upload
 */
import { mkdirSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'wirekit/server';

const uploads = process.env.UPLOAD_DIR ?? join(process.cwd(), 'uploads');
mkdirSync(uploads, { recursive: true });

const app = new App();
app.post('/upload', async (ctx) => {
  const fields: Record<string, string> = {};
  const files: Array<{ field: string; name: string; size: number }> = [];
  for await (const part of ctx.multipart({ maxFileSize: 5 * 1024 * 1024 })) {
    if (part.kind === 'field') fields[part.name] = part.value;
    else {
      // Saved in the upload dir as a temp file; renaming keeps it (otherwise it is removed).
      const saved = await part.saveTo(uploads);
      const name = `${Date.now()}-${basename(part.filename) || 'upload'}`;
      await rename(saved.path, join(uploads, name));
      files.push({ field: part.name, name, size: saved.size });
    }
  }
  return { fields, files };
});

export default app;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await app.listen({ port: Number(process.env.PORT ?? 5000) });
  console.log(`Running on ${server.url}`);
  process.once('SIGINT', () => void server.close({ timeout: 2_000 }));
  process.once('SIGTERM', () => void server.close({ timeout: 2_000 }));
}
