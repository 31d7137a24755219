/**
 * Real proxies for the client tests, each in a temp dir on a free loopback port and stopped
 * after the test: squid (its Debian default configuration with test paths), tinyproxy with
 * BasicAuth, Dante's danted (SOCKS5); and a SOCKS5 test double for username/password auth.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { sleep } from '../helpers.js';
import { freePort } from '../net/tcp-helpers.js';

const isRoot = process.getuid?.() === 0;

/** A loopback TCP port nobody listens on right now. */
/** The shared free-port finder, re-exported for the proxy tests. */
export { freePort };

/** Resolves once 127.0.0.1:`port` accepts a connection; throws after `ms`. */
export async function waitForPort(port: number, ms: number, child?: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) {
      throw new Error(`the peer exited with code ${child.exitCode} before listening`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // squid and danted drop to an unprivileged user that must write its logs here.
  chmodSync(dir, 0o777);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `command` until the test ends: SIGTERM, then SIGKILL if it lingers. */
function run(t: TestContext, command: string, args: string[], log: string): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await once(child, 'exit');
    clearTimeout(timer);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) writeFileSync(log, Buffer.concat(chunks));
  });
  return child;
}

/**
 * squid with Debian's /etc/squid/squid.conf (its ACLs: `deny CONNECT !SSL_ports`, `allow
 * localhost`...), with only the port, the pid/log paths and the run user changed. `sslPorts`
 * adds ports to the SSL_ports ACL, which by default only holds 443: a test that wants a CONNECT
 * tunnel to a loopback origin on another port must say so. `auth` adds Basic authentication
 * (squid's basic_ncsa_auth with an openssl apr1 hash), required before `allow localhost`.
 */
export async function startSquid(
  t: TestContext,
  options: { sslPorts?: number[]; auth?: { user: string; pass: string } } = {},
): Promise<{ port: number; url: string; logged: (line: RegExp) => Promise<void> }> {
  const dir = tempDir(t, 'wirekit-squid-');
  const port = await freePort();
  const defaults = readFileSync('/etc/squid/squid.conf', 'utf8')
    .split('\n')
    .filter((line) => !/^\s*(#|$)/.test(line))
    .filter((line) => !/^(http_port|coredump_dir|include)\b/.test(line));
  const extra = (options.sslPorts ?? []).map((p) => `acl SSL_ports port ${p}`);
  if (options.auth !== undefined) {
    const hash = spawnSync('openssl', ['passwd', '-apr1', options.auth.pass], { encoding: 'utf8' });
    if (hash.status !== 0) throw new Error(`openssl passwd failed: ${hash.stderr}`);
    writeFileSync(join(dir, 'passwd'), `${options.auth.user}:${hash.stdout.trim()}\n`);
    chmodSync(join(dir, 'passwd'), 0o644);
    extra.push(
      `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
      'acl authed proxy_auth REQUIRED',
    );
    defaults.splice(defaults.indexOf('http_access allow localhost'), 0, 'http_access deny !authed');
  }
  // The ACL lines must come before the http_access rules that use them.
  const firstAccess = defaults.findIndex((line) => line.startsWith('http_access'));
  defaults.splice(firstAccess, 0, ...extra);
  const conf = [
    ...defaults,
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    `access_log stdio:${dir}/access.log`,
    `cache_log ${dir}/cache.log`,
    'cache_store_log none',
    `coredump_dir ${dir}`,
    'shutdown_lifetime 0 seconds',
    'logfile_rotate 0',
    ...(isRoot ? ['cache_effective_user proxy'] : []),
  ].join('\n');
  writeFileSync(join(dir, 'squid.conf'), `${conf}\n`);
  const child = run(t, '/usr/sbin/squid', ['-N', '-f', join(dir, 'squid.conf')], join(dir, 'exit.log'));
  await waitForPort(port, 15_000, child);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    // squid writes its access log a moment after the transaction: wait for the line (bounded).
    logged: async (line) => {
      let log = '';
      for (let i = 0; i < 50; i++) {
        try {
          log = readFileSync(join(dir, 'access.log'), 'utf8');
        } catch {
          log = '';
        }
        if (line.test(log)) return;
        await sleep(100);
      }
      throw new Error(`squid's access log has no ${line}:\n${log}`);
    },
  };
}

/** tinyproxy on a free port, with `BasicAuth user pass` when given. */
export async function startTinyproxy(
  t: TestContext,
  auth?: { user: string; pass: string },
): Promise<{ port: number }> {
  const dir = tempDir(t, 'wirekit-tinyproxy-');
  const port = await freePort();
  const conf = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    'MaxClients 20',
    'Allow 127.0.0.1',
    'LogLevel Info',
    `PidFile "${dir}/tinyproxy.pid"`,
    ...(isRoot ? ['User nobody', 'Group nogroup'] : []),
    ...(auth === undefined ? [] : [`BasicAuth ${auth.user} ${auth.pass}`]),
  ].join('\n');
  writeFileSync(join(dir, 'tinyproxy.conf'), `${conf}\n`);
  const child = run(
    t,
    '/usr/bin/tinyproxy',
    ['-d', '-c', join(dir, 'tinyproxy.conf')],
    join(dir, 'exit.log'),
  );
  await waitForPort(port, 10_000, child);
  return { port };
}

/** Dante's danted as a SOCKS5 proxy without authentication, internal and external on `lo`. */
export async function startDante(t: TestContext): Promise<{ port: number }> {
  const dir = tempDir(t, 'wirekit-danted-');
  const port = await freePort();
  const conf = [
    'logoutput: stderr',
    `internal: 127.0.0.1 port = ${port}`,
    'external: lo',
    'clientmethod: none',
    'socksmethod: none',
    ...(isRoot ? ['user.privileged: root', 'user.unprivileged: nobody'] : []),
    'client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
    'socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }',
  ].join('\n');
  writeFileSync(join(dir, 'danted.conf'), `${conf}\n`);
  const child = run(
    t,
    '/usr/sbin/danted',
    ['-f', join(dir, 'danted.conf'), '-p', join(dir, 'danted.pid'), '-N', '1'],
    join(dir, 'exit.log'),
  );
  await waitForPort(port, 10_000, child);
  return { port };
}

/**
 * A test double, not a proxy to use: a minimal SOCKS5 server (RFC 1928 CONNECT, RFC 1929
 * username/password) on 127.0.0.1. It exists because Dante's username method checks the
 * system's accounts, which a test must not create; it records the credentials it was given.
 */
export async function socks5Double(
  t: TestContext,
  auth: { user: string; pass: string },
): Promise<{ port: number; logins: { user: string; pass: string }[] }> {
  const logins: { user: string; pass: string }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let state: 'greeting' | 'auth' | 'request' | 'open' = 'greeting';
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (state === 'greeting' && buffer.length >= 2 && buffer.length >= 2 + buffer[1]!) {
        const methods = [...buffer.subarray(2, 2 + buffer[1]!)];
        buffer = buffer.subarray(2 + buffer[1]!);
        if (!methods.includes(2)) {
          client.end(Buffer.from([5, 0xff]));
          return;
        }
        client.write(Buffer.from([5, 2]));
        state = 'auth';
      }
      if (state === 'auth' && buffer.length >= 2) {
        const ulen = buffer[1]!;
        if (buffer.length < 3 + ulen) return;
        const plen = buffer[2 + ulen]!;
        if (buffer.length < 3 + ulen + plen) return;
        const user = buffer.subarray(2, 2 + ulen).toString();
        const pass = buffer.subarray(3 + ulen, 3 + ulen + plen).toString();
        buffer = buffer.subarray(3 + ulen + plen);
        logins.push({ user, pass });
        const ok = user === auth.user && pass === auth.pass;
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) {
          client.end();
          return;
        }
        state = 'request';
      }
      if (state === 'request' && buffer.length >= 10 && buffer[3] === 1) {
        const host = [...buffer.subarray(4, 8)].join('.');
        const port = buffer.readUInt16BE(8);
        buffer = buffer.subarray(10);
        state = 'open';
        client.off('data', onData);
        const upstream = connect(port, host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (buffer.length > 0) upstream.write(buffer);
          client.pipe(upstream).pipe(client);
        });
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
      }
    };
    client.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, logins };
}
