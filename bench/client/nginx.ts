/**
 * The server of the GET case: nginx on bench/client/nginx.conf (see lib/nginx.ts), serving the
 * same `--bytes` of ASCII text as /data.txt and, marked fresh for a day, as /cached.txt. Reports
 * its worker's pid: the runner shows that process's CPU, to make sure it is not the limit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numberArg, stringArg } from '../lib/child.js';
import { runNginx } from '../lib/nginx.js';

const bytes = numberArg('bytes');
const line = 'wirekit client benchmark: plain text that nginx serves from a file.\n';
const text = line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);

await runNginx(stringArg('nginx'), 'bench/client/nginx.conf', (dir) => {
  mkdirSync(join(dir, 'www'), { mode: 0o755 });
  for (const name of ['data.txt', 'cached.txt']) writeFileSync(join(dir, 'www', name), text, { mode: 0o644 });
});
