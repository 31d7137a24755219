/**
 * python websockets reference target: runs bench/ws/websockets_app.py under the interpreter the
 * area found with websockets installed (`--python`), for `--case echo|broadcast` (`--memory`
 * passed on). Python gets this process's stdio, so it reports `listening` (with its own pid,
 * which the runner then measures) and sees the runner close stdin by itself; this process only
 * waits for it and exits with it.
 */
import { spawn } from 'node:child_process';
import { stringArg } from '../lib/child.js';

const python = stringArg('python');
const args = ['bench/ws/websockets_app.py', stringArg('case')];
if (process.argv.includes('--memory')) args.push('--memory');
const child = spawn(python, args, { stdio: 'inherit' });
child.once('error', (err) => {
  process.stderr.write(`could not start ${python}: ${err.message}\n`);
  process.exit(1);
});
child.once('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
