/**
 * aiohttp reference target: runs bench/server/aiohttp_app.py under the interpreter the area
 * found with aiohttp installed (`--python`). Python gets this process's stdio, so it reports
 * `listening` (with its own pid, which the runner then measures) and sees the runner close
 * stdin by itself; this process only waits for it and exits with it.
 */
import { spawn } from 'node:child_process';
import { caseArg, stringArg } from './shared.js';

const child = spawn(stringArg('python'), ['bench/server/aiohttp_app.py', caseArg()], { stdio: 'inherit' });
child.once('error', (err) => {
  process.stderr.write(`could not start ${stringArg('python')}: ${err.message}\n`);
  process.exit(1);
});
child.once('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
