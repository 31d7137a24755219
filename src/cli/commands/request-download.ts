/**
 * @module wirekit/cli/commands/request-download
 * The file name `--download` saves to, as httpie picks it: Content-Disposition's filename, else
 * the URL's last path segment (plus an extension from Content-Type when it has none), else
 * `index`; never a path, never hidden, and `-1`, `-2`... appended when the name is taken.
 */
import type { Response } from '../../client/response.js';

const EXTENSIONS: Record<string, string> = {
  'text/html': '.html',
  'text/plain': '.txt',
  'text/css': '.css',
  'text/csv': '.csv',
  'text/javascript': '.js',
  'application/json': '.json',
  'application/xml': '.xml',
  'text/xml': '.xml',
  'application/pdf': '.pdf',
  'application/zip': '.zip',
  'application/gzip': '.gz',
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/gif': '.gif',
  'image/svg+xml': '.svg',
  'image/webp': '.webp',
};

/** The filename a Content-Disposition names (`filename*=UTF-8''...` first, RFC 6266), if any. */
export function dispositionFilename(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const extended = /filename\*\s*=\s*([\w!#$&+.^`|~-]+)'[^']*'([^;\s]+)/i.exec(header);
  if (extended) {
    try {
      return extended[1]!.toLowerCase() === 'utf-8'
        ? decodeURIComponent(extended[2]!)
        : unescape(extended[2]!);
    } catch {
      // A broken percent-encoding: try the plain filename.
    }
  }
  const quoted = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const token = /filename\s*=\s*([^;\s]+)/i.exec(header);
  return token?.[1];
}

/** A name safe to create in the current directory: no directories, no leading dots, no controls. */
export function safeName(name: string): string {
  const base = [...(name.split(/[/\\]/).pop() ?? '')].filter((c) => c >= ' ' && c !== '\u007f').join('');
  return base.trim().replace(/^\.+/, '').trim();
}

function lastSegment(url: string): string {
  const path = new URL(url).pathname;
  const segment = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The name to save `res` under; `exists` says which names are taken. */
export function downloadName(res: Response, exists: (name: string) => boolean): string {
  const type = res.header('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
  let name = safeName(dispositionFilename(res.header('content-disposition')) ?? '');
  if (name === '') {
    name = safeName(lastSegment(res.url)) || 'index';
    if (!name.includes('.') && EXTENSIONS[type] !== undefined) name += EXTENSIONS[type];
  }
  if (!exists(name)) return name;
  for (let i = 1; ; i++) {
    const candidate = `${name}-${i}`;
    if (!exists(candidate)) return candidate;
  }
}
