import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { App } from '../../src/server/index.js';
import { needPeer } from '../helpers.js';
import { bin, type Result, run } from './cli-helpers.js';

let base = '';
let close: () => Promise<void> = async () => undefined;
const app = new App();
app.all('/echo', async (ctx) => ({ headers: ctx.headers, body: await ctx.text() }));

before(async () => {
  const server = await app.listen({ port: 0, host: '127.0.0.1' });
  base = server.url.replace(/\/$/, '');
  close = () => server.close({ timeout: 200 });
});
after(() => close());

interface Echo {
  headers: Record<string, string>;
  body: string;
}
const echoOf = (result: Result): Echo => {
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Echo;
};
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

describe('wirekit get|post|...: stdin and --auth (httpie style)', () => {
  test('a body piped on stdin is sent as is, typed by the mode unless an item types it', async () => {
    const json = echoOf(await run(['post', `${base}/echo`, '-b'], { input: '{"id": 7}\n' }));
    assert.equal(json.body, '{"id": 7}\n');
    assert.equal(json.headers['content-type'], 'application/json');
    assert.equal(json.headers.accept, 'application/json, */*;q=0.5');
    const form = echoOf(await run(['put', `${base}/echo`, '--form', '-b'], { input: 'a=1&b=2' }));
    assert.equal(form.body, 'a=1&b=2');
    assert.equal(form.headers['content-type'], 'application/x-www-form-urlencoded');
    const typed = echoOf(
      await run(['post', `${base}/echo`, 'Content-Type:text/csv', '-b'], { input: 'x,y\n1,2\n' }),
    );
    assert.equal(typed.headers['content-type'], 'text/csv');
    assert.equal(typed.body, 'x,y\n1,2\n');
  });

  test('stdin with data fields is bad usage; --ignore-stdin leaves stdin alone; empty stdin is no body', async () => {
    const mixed = await run(['post', `${base}/echo`, 'name=ann'], { input: '{}' });
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /stdin and data fields do not mix/);
    const ignored = echoOf(
      await run(['post', `${base}/echo`, 'name=ann', '--ignore-stdin', '-b'], { input: '{}' }),
    );
    assert.deepEqual(JSON.parse(ignored.body), { name: 'ann' });
    const empty = echoOf(await run(['get', `${base}/echo`, '-b'], { input: '' }));
    assert.equal(empty.body, '');
    assert.equal(empty.headers['content-type'], undefined);
  });

  test('--auth USER:PASS is Basic, --auth-type bearer a token; an Authorization item wins', async () => {
    const user = echoOf(await run(['get', `${base}/echo`, '-a', 'ann:s3cr:et', '-b']));
    assert.equal(user.headers.authorization, basic('ann:s3cr:et'));
    const bearer = echoOf(await run(['get', `${base}/echo`, '--auth', 'tok3n', '-A', 'bearer', '-b']));
    assert.equal(bearer.headers.authorization, 'Bearer tok3n');
    const item = echoOf(await run(['get', `${base}/echo`, '-a', 'ann:x', 'Authorization:Token abc', '-b']));
    assert.equal(item.headers.authorization, 'Token abc');
    const url = echoOf(await run(['get', base.replace('http://', 'http://bob:pw@') + '/echo', '-b']));
    assert.equal(url.headers.authorization, basic('bob:pw'));
    const bad = await run(['get', `${base}/echo`, '-a', 'x', '-A', 'digest']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--auth-type must be basic or bearer/);
    const noTerminal = await run(['get', `${base}/echo`, '-a', 'ann']);
    assert.equal(noTerminal.code, 2);
    assert.match(noTerminal.stderr, /asks for it on a terminal/);
  });

  test('--auth USER asks for the password on the terminal, without echoing it', async (t) => {
    if (!needPeer(t, 'script', ['--version'])) return;
    // util-linux's script gives the command a pseudo-terminal and passes our input to it.
    const command = `'${process.execPath}' '${bin}' get '${base}/echo' -a ann -b`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
      if (!typed && output.includes('password for ann: ')) {
        typed = true;
        child.stdin.write('pa ss\r');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 0, output);
    assert.ok(!output.includes('pa ss'), `the password was echoed: ${output}`);
    const json = output.slice(output.indexOf('{'));
    assert.equal((JSON.parse(json) as Echo).headers.authorization, basic('ann:pa ss'));
  });
});
