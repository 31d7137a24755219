/**
 * @module wirekit/server/static
 * `createStatic()`: the files under one directory, served by URL path with index files,
 * directory redirects, optional listings and precompressed siblings, and nothing outside that
 * directory ever (no `..`, no encoded separators, no symlink that leaves it).
 */
import { realpathSync, statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { join, resolve as resolvePath, sep } from 'node:path';
import { badRequest, forbidden } from './errors.js';
import {
  fileSettings,
  type FileSettings,
  type HeaderValue,
  isDenied,
  isMissing,
  type ServeHooks,
  serveFile,
} from './send-file.js';

/** Options for {@link createStatic}. */
export interface StaticOptions {
  /**
   * The file(s) a directory URL ending in `/` serves, tried in order; `false` for none.
   * **Default:** `'index.html'`.
   */
  index?: string | readonly string[] | false;
  /**
   * Paths with a segment that starts with a dot (`/.env`, `/.git/config`): `'ignore'` them
   * (not found: the handler resolves `false`), `'deny'` them (rejects with a 403 `HttpError`),
   * or `'allow'` them (needed for `/.well-known/`). **Default:** `'ignore'`.
   */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /** Cache-Control max-age in whole seconds, as in `sendFile`. **Default:** `0`. */
  maxAge?: number;
  /** Adds `immutable` to Cache-Control, as in `sendFile`. **Default:** `false`. */
  immutable?: boolean;
  /** Extra headers on every file response, as in `sendFile`. **Default:** `{}`. */
  headers?: Record<string, HeaderValue>;
  /**
   * A directory without an index file answers with an HTML list of its entries (directories
   * first, then by name; names escaped; dot entries only with `dotfiles: 'allow'`).
   * **Default:** `false`.
   */
  listing?: boolean;
  /**
   * Serve `file.br` / `file.gz` when they exist next to `file`, are not older than it, and the
   * client's Accept-Encoding allows them, with `Content-Encoding`, `Vary: Accept-Encoding` and
   * the Content-Type of `file`. **Default:** `true`.
   */
  precompressed?: boolean;
  /**
   * A directory URL without its trailing slash answers 301 to the same URL with the slash,
   * so relative links in its index resolve; when `false` it is not found. **Default:** `true`.
   */
  redirectDirectories?: boolean;
}

/** The defaults of {@link StaticOptions}, every key present. */
export const staticDefaults = {
  index: 'index.html',
  dotfiles: 'ignore',
  maxAge: 0,
  immutable: false,
  headers: Object.freeze({}) as Record<string, HeaderValue>,
  listing: false,
  precompressed: true,
  redirectDirectories: true,
} satisfies StaticOptions;

/**
 * Answers one request from the static directory. `relativePath` is the URL path below the
 * mount point, still percent-encoded, with or without its leading `/` (`''` is the mount point
 * itself); a query string is ignored if present.
 *
 * Resolves `true` when it answered, `false` when it did not (no such file, a dotfile ignored,
 * a method other than GET or HEAD) so the caller can answer 404, 405 or try something else.
 * Rejects with an `HttpError` and writes nothing for a bad path: 400 for malformed
 * percent-encoding or a NUL byte, 403 for a denied dotfile or a file the system will not let
 * us read.
 */
export type StaticHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  relativePath: string,
) => Promise<boolean>;

type Dotfiles = NonNullable<StaticOptions['dotfiles']>;

/**
 * A handler that serves the files under `root` (see {@link StaticHandler} for what it resolves).
 * `root` must be an existing directory; it is resolved, symlinks included, now, and again if a
 * file seems to lie outside it (so a `current -> release-N` root can be switched while
 * serving).
 *
 * Not served, whatever the path: anything whose real path (symlinks resolved) is outside the
 * real root, which is "not found" rather than 403 so that it says nothing about the file system
 * outside; `..` segments, raw or percent-encoded; an encoded `/` or any `\` in a segment; a file
 * asked for with a trailing slash. Off-site redirects cannot happen: the directory redirect is
 * relative (`./name/`).
 *
 * @example
 * import { createServer } from 'node:http';
 * const serve = createStatic('./public', { maxAge: 3600 });
 * createServer(async (req, res) => {
 *   const path = (req.url ?? '/').split('?')[0] as string;
 *   try {
 *     if (!(await serve(req, res, path))) res.writeHead(404).end('not found\n');
 *   } catch (err) {
 *     res.writeHead((err as { status?: number }).status ?? 500).end();
 *   }
 * });
 */
export function createStatic(root: string, options: StaticOptions = {}): StaticHandler {
  if (typeof root !== 'string' || root === '') {
    throw new TypeError(`createStatic: root must be a non-empty string, got ${typeof root}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createStatic: options must be an object');
  }
  const o = { ...staticDefaults, ...options };
  const index = indexFiles(o.index);
  if (o.dotfiles !== 'ignore' && o.dotfiles !== 'deny' && o.dotfiles !== 'allow') {
    throw new TypeError(
      `createStatic: dotfiles must be 'ignore', 'deny' or 'allow', got ${String(o.dotfiles)}`,
    );
  }
  for (const key of ['listing', 'redirectDirectories'] as const) {
    if (typeof o[key] !== 'boolean') throw new TypeError(`createStatic: ${key} must be a boolean`);
  }
  const settings: FileSettings = fileSettings(
    { maxAge: o.maxAge, immutable: o.immutable, headers: o.headers, precompressed: o.precompressed },
    'createStatic',
  );
  const dotfiles: Dotfiles = o.dotfiles;
  const rootPath = resolvePath(root);
  let rootReal: string;
  try {
    rootReal = realpathSync(rootPath);
    if (!statSync(rootReal).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    throw new TypeError(`createStatic: root ${rootPath} is not a directory`, { cause: err });
  }

  const inside = (real: string, base: string): boolean =>
    real === base || real.startsWith(base.endsWith(sep) ? base : base + sep);

  /** The real path of `path` when it exists inside the root; `undefined` otherwise. */
  async function resolveInside(path: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      if (isMissing(err)) return undefined;
      if (isDenied(err)) throw forbidden(undefined, { cause: err });
      throw err;
    }
    if (inside(real, rootReal)) return real;
    // The root itself may be a symlink that was switched since (a deploy).
    const fresh = await realpath(rootPath).catch(() => rootReal);
    if (fresh === rootReal || !inside(real, fresh)) return undefined;
    rootReal = fresh;
    return real;
  }

  const hooks: ServeHooks = {
    variantAllowed: async (path) => (await resolveInside(path)) !== undefined,
  };

  return async function serveStatic(req, res, relativePath) {
    if (typeof relativePath !== 'string') {
      throw new TypeError(`static: relativePath must be a string, got ${typeof relativePath}`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const parsed = parseRelativePath(relativePath, dotfiles);
    if (parsed === 400) throw badRequest('malformed path');
    if (parsed === 403) throw forbidden();
    if (parsed === 404) return false;
    const { segments } = parsed;
    const path = join(rootPath, ...segments);
    // join cannot leave the root with the segments parseRelativePath lets through; checked anyway.
    if (!inside(path, rootPath)) return false;
    const real = await resolveInside(path);
    if (real === undefined) return false;

    // The mount point itself ('') has its trailing slash, or not, in the request URL.
    const slash = relativePath === '' || relativePath[0] === '?' ? urlEndsWithSlash(req) : parsed.slash;
    if (!slash) {
      const outcome = await serveFile(req, res, path, settings, { ...hooks, openPath: real });
      if (outcome !== 'directory') return outcome === 'sent';
      if (!o.redirectDirectories) return false;
      return redirectToSlash(req, res, segments);
    }
    // A trailing slash names a directory: a file asked for as "file.txt/" is not there.
    const stats = await stat(real).catch(() => undefined);
    if (stats === undefined || !stats.isDirectory()) return false;
    for (const name of index) {
      const candidate = join(path, name);
      const candidateReal = await resolveInside(candidate);
      if (candidateReal === undefined) continue;
      const outcome = await serveFile(req, res, candidate, settings, { ...hooks, openPath: candidateReal });
      if (outcome === 'sent') return true;
    }
    if (!o.listing) return false;
    await sendListing(req, res, real, segments, dotfiles, settings, resolveInside);
    return true;
  };
}

function indexFiles(index: unknown): string[] {
  if (index === false) return [];
  const names = typeof index === 'string' ? [index] : index;
  if (!Array.isArray(names)) {
    throw new TypeError('createStatic: index must be a file name, an array of file names, or false');
  }
  for (const name of names) {
    if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new TypeError(
        `createStatic: index entries must be plain file names, got ${JSON.stringify(name)}`,
      );
    }
  }
  return [...(names as string[])];
}

/** @internal A request path split into decoded segments, or the status it earns. */
export type ParsedPath = { segments: string[]; slash: boolean } | 400 | 403 | 404;

/**
 * @internal Splits a percent-encoded path into decoded segments that are safe to join to the
 * root: no `..`, no separator or NUL inside a segment, dot segments only when allowed. Empty
 * and `.` segments are skipped, as a file system would.
 */
export function parseRelativePath(relativePath: string, dotfiles: Dotfiles): ParsedPath {
  let end = relativePath.indexOf('?');
  if (end === -1) end = relativePath.length;
  const raw = relativePath.slice(0, end).split('/');
  const segments: string[] = [];
  let slash = false;
  for (const part of raw) {
    slash = part === '';
    if (part === '') continue;
    let name: string;
    try {
      name = decodeURIComponent(part);
    } catch {
      return 400;
    }
    if (name.includes('\0')) return 400;
    // An encoded "/" would split a segment in two after the checks; "\" is a separator on Windows.
    if (name.includes('/') || name.includes('\\')) return 404;
    if (name === '.') {
      slash = true;
      continue;
    }
    if (name === '..') return 404;
    if (name.startsWith('.') && dotfiles !== 'allow') return dotfiles === 'deny' ? 403 : 404;
    segments.push(name);
  }
  return { segments, slash };
}

function urlEndsWithSlash(req: IncomingMessage): boolean {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return (q === -1 ? url : url.slice(0, q)).endsWith('/');
}

/**
 * 301 to the directory with its slash. The Location is relative to the URL the client asked
 * for (`./name/`), so it cannot name another host the way `//host` or `/\host` would, and it
 * needs no knowledge of where the handler is mounted.
 */
function redirectToSlash(req: IncomingMessage, res: ServerResponse, segments: string[]): true {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let last = segments[segments.length - 1];
  if (last === undefined) {
    // The mount point itself: its name is the last segment of the request URL.
    const raw = path.slice(path.lastIndexOf('/') + 1);
    try {
      last = decodeURIComponent(raw);
    } catch {
      last = '';
    }
  }
  // Bytes outside printable ASCII are re-encoded: node refuses them in a header.
  const query = q === -1 ? '' : url.slice(q).replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
  const location = `./${last === '' ? '' : `${encodeURIComponent(last)}/`}${query}`;
  const body = `Redirecting to ${location}\n`;
  res.writeHead(301, {
    location,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);

/**
 * Made by the first listing: an `Intl.Collator` loads ICU's collation data (3 MiB of RSS for a
 * hello-world server, measured), which a server that never lists a directory does not need.
 */
let collator: Intl.Collator | undefined;

/** An HTML list of a directory: subdirectories first, then files, each by name. */
async function sendListing(
  req: IncomingMessage,
  res: ServerResponse,
  directory: string,
  segments: string[],
  dotfiles: Dotfiles,
  settings: FileSettings,
  resolveInside: (path: string) => Promise<string | undefined>,
): Promise<void> {
  const entries: Array<{ name: string; directory: boolean }> = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (entry.name.startsWith('.') && dotfiles !== 'allow') continue;
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      // Only links that the handler would follow are listed.
      const target = await resolveInside(join(directory, entry.name)).catch(() => undefined);
      const stats = target === undefined ? undefined : await stat(target).catch(() => undefined);
      if (stats === undefined || !(stats.isDirectory() || stats.isFile())) continue;
      isDirectory = stats.isDirectory();
    } else if (!isDirectory && !entry.isFile()) {
      continue;
    }
    entries.push({ name: entry.name, directory: isDirectory });
  }
  const order = (collator ??= new Intl.Collator('en', { numeric: true, sensitivity: 'base' }));
  entries.sort((a, b) => Number(b.directory) - Number(a.directory) || order.compare(a.name, b.name));

  const title = escapeHtml(`Index of /${segments.map((s) => `${s}/`).join('')}`);
  const items = segments.length === 0 ? [] : ['<li><a href="../">../</a></li>'];
  for (const { name, directory: isDirectory } of entries) {
    const suffix = isDirectory ? '/' : '';
    // "./" keeps a name such as "javascript:x" from reading as a scheme.
    items.push(
      `<li><a href="./${escapeHtml(encodeURIComponent(name))}${suffix}">${escapeHtml(name)}${suffix}</a></li>`,
    );
  }
  const body =
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n` +
    `<body><h1>${title}</h1>\n<ul>\n${items.join('\n')}\n</ul>\n</body></html>\n`;
  const headers: OutgoingHttpHeaders = {
    'cache-control': 'no-cache',
    ...settings.headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'",
  };
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
