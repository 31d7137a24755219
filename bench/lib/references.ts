/**
 * Runner side: what areas compare with beyond their own contenders, looked up once per run: the
 * versions of installed packages, a python3 that has aiohttp, nginx. A reference that is not
 * installed comes back as the reason, for the contender's `unavailable`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The installed version of a package in node_modules, or `?`. */
export function version(pkg: string): string {
  try {
    const file = join(process.cwd(), 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/**
 * The first python3 on PATH (or /usr/bin/python3, Debian's) that can import `module`, with
 * the module's version; else why not, naming the Debian package `apt`.
 */
function findPython(module: string, apt: string): { python: string; version: string } | string {
  const candidates = (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'python3'))
    .concat('/usr/bin/python3')
    .filter((path, i, all) => all.indexOf(path) === i && existsSync(path));
  const probe = `import ${module}, platform; print(${module}.__version__, platform.python_version())`;
  for (const python of candidates) {
    const run = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 15_000 });
    const [found, py] = (run.status === 0 ? run.stdout : '').trim().split(' ');
    if (found && py) return { python, version: `${module} ${found} (Python ${py}, ${python})` };
  }
  return `no python3 with ${module} (tried ${candidates.join(', ') || 'none'}; apt-get install ${apt})`;
}

const findAiohttp = () => findPython('aiohttp', 'python3-aiohttp');

function findNginx(): { nginx: string; version: string } | string {
  for (const nginx of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    const run = spawnSync(nginx, ['-v'], { encoding: 'utf8' });
    const match = /nginx\/([\d.]+)/.exec(run.stderr ?? '');
    if (run.status === 0 && match) return { nginx, version: `nginx ${match[1]}` };
  }
  return 'nginx is not installed (apt-get install nginx-light)';
}

let found: { aiohttp: ReturnType<typeof findAiohttp>; nginx: ReturnType<typeof findNginx> } | undefined;

/** aiohttp and nginx: where each is and its version, or why it is not there. */
export const references = () => (found ??= { aiohttp: findAiohttp(), nginx: findNginx() });

let foundWebsockets: ReturnType<typeof findPython> | undefined;

/** A python3 with websockets (the ws area's reference line) and its version, or why there is none. */
export const websocketsReference = () => (foundWebsockets ??= findPython('websockets', 'python3-websockets'));
