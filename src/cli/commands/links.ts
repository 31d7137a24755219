/**
 * @module wirekit/cli/commands/links
 * `wirekit links URL|FILE`: every link of a page, resolved against its base, one per line (or
 * `--json`). A URL is fetched with a Session (redirects followed); a FILE is read from disk.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { Session } from '../../client/session.js';
import { extractLinks, type Link, type LinkOptions } from '../../html/index.js';
import { parseMs, UsageError } from '../args.js';
import { normalizeUrl } from '../items.js';
import { out } from '../print.js';

interface LinksFlags {
  base?: string;
  sameOrigin?: boolean;
  unique?: boolean;
  json?: boolean;
  timeout: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export function registerLinks(program: Command): Command {
  return program
    .command('links')
    .description('print every link of a page (a URL or an HTML file), resolved against its base')
    .argument('<source>', 'http(s) URL, or an HTML file (an existing file wins over a bare host name)')
    .option('--base <url>', 'the URL links resolve against (default: the page URL, or the file itself)')
    .option('--same-origin', 'only links to the same origin (scheme, host, port) as the page')
    .option('--unique', 'each URL once')
    .option('--json', 'print the links as JSON: url, raw, tag, attribute, text, rel')
    .option('--timeout <ms>', 'with a URL: give up after this many milliseconds', '30000')
    .action(async (source: string, flags: LinksFlags) => {
      const timeout = parseMs(flags.timeout, '--timeout');
      let base: URL | undefined;
      if (flags.base !== undefined) {
        try {
          base = new URL(flags.base);
        } catch {
          throw new UsageError(`--base must be an absolute URL, got '${flags.base}'`);
        }
      }
      // A path (/x, ./x, ../x, ~/x) that is not there is a missing file, not a host name.
      if (/^(\.{0,2}\/|~\/)/.test(source) && !existsSync(source)) {
        throw new UsageError(`no such file: ${source}`);
      }
      const options: LinkOptions = { sameOrigin: flags.sameOrigin === true, unique: flags.unique === true };
      const links =
        SCHEME.test(source) || source.startsWith(':') || !existsSync(source)
          ? await fromUrl(normalizeUrl(source), base, options, timeout)
          : extractLinks(await readFile(source), base ?? pathToFileURL(resolvePath(source)), options);
      await out(flags.json ? `${JSON.stringify(links)}\n` : links.map((link) => `${link.url}\n`).join(''));
    });
}

async function fromUrl(
  url: string,
  base: URL | undefined,
  options: LinkOptions,
  timeout: number,
): Promise<Link[]> {
  const session = new Session({ timeout: { total: timeout } });
  try {
    const res = await session.get(url);
    if (!res.ok) {
      await res.dump();
      throw new Error(`HTTP ${res.status} ${res.statusText} from ${res.url}`);
    }
    return base === undefined ? await res.links(options) : extractLinks(await res.text(), base, options);
  } finally {
    await session.close();
  }
}
