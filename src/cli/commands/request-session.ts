/**
 * @module wirekit/cli/commands/request-session
 * `--session FILE`: headers and cookies kept between runs of the request commands, in one JSON
 * file (`{ "headers": {...}, "cookies": <tough-cookie jar> }`), written aside and renamed, 0600.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { CookieJar } from 'tough-cookie';
import { UsageError } from '../args.js';

/** What the file holds. */
export interface SessionFile {
  headers: Record<string, string>;
  jar: CookieJar | undefined;
}

/** Headers that describe one request, never kept (httpie's rule: `Content-*` and `If-*`). */
const PER_REQUEST = /^(content-|if-)/i;

/** Loads FILE; a file that does not exist yet is an empty session. */
export async function loadSession(file: string): Promise<SessionFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { headers: {}, jar: undefined };
    throw new UsageError(`cannot read --session ${file}: ${(err as Error).message}`);
  }
  try {
    const data = JSON.parse(text) as { headers?: Record<string, string>; cookies?: unknown };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(data.headers ?? {})) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value;
    }
    const jar =
      data.cookies === undefined || data.cookies === null
        ? undefined
        : CookieJar.deserializeSync(data.cookies as Parameters<typeof CookieJar.deserializeSync>[0]);
    return { headers, jar };
  } catch (err) {
    throw new UsageError(`--session ${file} is not a wirekit session file: ${(err as Error).message}`);
  }
}

/**
 * The session's headers after a run: the saved ones, with this run's header items set (or
 * removed, for `Header:`), except per-request ones.
 */
export function nextHeaders(
  saved: Record<string, string>,
  items: ReadonlyArray<readonly [string, string | null]>,
): Record<string, string> {
  const headers = { ...saved };
  for (const [name, value] of items) {
    const key = name.toLowerCase();
    if (PER_REQUEST.test(key)) continue;
    if (value === null) delete headers[key];
    else headers[key] = value;
  }
  return headers;
}

/** Writes FILE (0600, aside then renamed, so a crash never leaves half a file). */
export async function saveSession(
  file: string,
  headers: Record<string, string>,
  jar: CookieJar | undefined,
): Promise<void> {
  const data = { headers, cookies: jar?.serializeSync() ?? null };
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
