/**
 * aiohttp reference client: runs bench/client/aiohttp_client.py under the interpreter the area
 * found with aiohttp installed (`--python`), with the rest of the arguments. Python gets this
 * process's stdio, so it reports to the runner itself (its `start` names its own pid, which the
 * runner then measures) and sees the runner close stdin; this process waits for it and exits
 * with it, stopping it if it is still at work a second after the runner said "done".
 */
import { spawn } from 'node:child_process';
import { stringArg } from '../lib/child.js';

const python = stringArg('python');
const index = process.argv.indexOf('--python');
const args = process.argv.slice(2).filter((_, i) => i + 2 !== index && i + 2 !== index + 1);

const child = spawn(python, ['bench/client/aiohttp_client.py', ...args], { stdio: 'inherit' });
child.once('error', (err) => {
  process.stderr.write(`could not start ${python}: ${err.message}\n`);
  process.exit(1);
});
child.once('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
// Python exits by itself once stdin closes, unless it is still at work (the runner gave up).
process.stdin.on('end', () => setTimeout(() => child.kill('SIGTERM'), 1_000).unref()).resume();
