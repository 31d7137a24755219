/**
 * nginx reference target (hello case only): runs nginx on bench/server/nginx.conf (see
 * lib/nginx.ts) and reports its worker, the process the runner measures.
 */
import { runNginx } from '../lib/nginx.js';
import { stringArg } from './shared.js';

await runNginx(stringArg('nginx'), 'bench/server/nginx.conf');
