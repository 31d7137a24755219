import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { run, start } from '../cli/cli-helpers.js';
import { root } from '../helpers.js';

/** One request on a fresh connection, so the cluster can hand it to any worker. */
function pidOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A connection handed to a worker as it dies is lost: bound every request.
    request(url, { agent: false, headers: { connection: 'close' }, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve((JSON.parse(body) as { pid: number }).pid));
    })
      .on('timeout', function (this: import('node:http').ClientRequest) {
        this.destroy(new Error('no answer in 2 s'));
      })
      .on('error', reject)
      .end();
  });
}

async function pids(url: string, n: number): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(await pidOf(url));
  return seen;
}

test(
  'serve --workers 2 answers from two processes, replaces a dead one, and closes them all',
  { timeout: 60_000 },
  async () => {
    const app = join(root, 'test/fixtures/pid-app.ts');
    const server = await start(
      ['serve', app, '--port', '0', '--workers', '2', '--quiet'],
      /on (http:\/\/127\.0\.0\.1:\d+\/) \(2 workers\)\n/,
    );
    const url = server.match[1]!;
    try {
      const before = await pids(url, 30);
      assert.equal(before.size, 2, `answered by ${[...before].join(', ')}`);
      assert.ok(!before.has(server.child.pid!), 'the primary does not serve');
      const dead = await new Promise<number>((resolve, reject) => {
        request(`${url}die`, { agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve((JSON.parse(body) as { dying: number }).dying));
        })
          .on('error', reject)
          .end();
      });
      let after = new Set<number>();
      for (let i = 0; i < 50; i++) {
        after = await pids(url, 10).catch(() => new Set<number>());
        if (after.size === 2 && !after.has(dead)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(after.size, 2, 'two workers again');
      assert.ok(!after.has(dead), 'the dead worker was replaced');
      const workers = [...after];
      assert.equal(await server.stop(), 0);
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker is gone');
    } finally {
      await server.stop();
    }
  },
);

test(
  'SIGTERM to every process at once (systemd, kill -- -PGID) still lets in-flight requests finish',
  { timeout: 60_000 },
  async () => {
    const app = join(root, 'test/fixtures/pid-app.ts');
    const server = await start(
      ['serve', app, '--port', '0', '--workers', '2', '--quiet'],
      /on (http:\/\/127\.0\.0\.1:\d+\/) \(2 workers\)\n/,
    );
    const url = server.match[1]!;
    try {
      const workers = [...(await pids(url, 30))];
      assert.equal(workers.length, 2);
      const slow = Array.from({ length: 4 }, () => pidOf(`${url}slow`));
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const pid of [server.child.pid!, ...workers]) process.kill(pid, 'SIGTERM');
      const answered = await Promise.all(slow);
      assert.equal(answered.length, 4);
      for (const pid of answered) assert.ok(workers.includes(pid));
      const code =
        server.child.exitCode ??
        (await new Promise<number | null>((resolve) => server.child.once('exit', resolve)));
      assert.equal(code, 0);
    } finally {
      await server.stop();
    }
  },
);

test('serve --workers with nonsense exits 2', async () => {
  const { code, stderr } = await run(['serve', '.', '--workers', 'many']);
  assert.equal(code, 2);
  assert.match(stderr, /--workers must be 'auto' or a number/);
});
