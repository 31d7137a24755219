/**
 * Load generator of the server area: checks one request by hand, then runs wrk (keep-alive,
 * no pipelining) against the target and reports through the runner protocol.
 *
 * wrk counts a response that is not 2xx or 3xx, and a socket error, without stopping; its
 * requests/s then mixes fast errors with real answers. So any "Non-2xx or 3xx responses" or
 * "Socket errors" line, in its report or in the numbers its Lua `done()` prints, fails the run.
 * wrk checks statuses, not bodies: the request made before it starts checks the body once.
 *
 * The runner reads this process's CPU time, which includes wrk's once wrk has exited (a reaped
 * child's time is added to its parent's): `start` is sent when the measured wrk starts, `end`
 * once it exited. A one-second settling run of wrk goes before it, unmeasured but checked.
 *
 * Events: start, end, result.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';
import { caseArg, ECHO_PATH, HELLO, PAYLOAD, ROUTES_ANSWER, ROUTES_PATH } from './shared.js';

const port = numberArg('port');
const duration = Math.max(1, Math.round(numberArg('duration')));
const connections = numberArg('connections');
const threads = numberArg('threads');
const which = caseArg();

const WRK = '/usr/bin/wrk';
/** wrk's own per-request timeout: a response slower than this counts as a socket error. */
const TIMEOUT_S = 2;
/** Seconds of unmeasured load before each measured run. */
const SETTLE_S = 1;

interface Plan {
  path: string;
  method: 'GET' | 'POST';
  body?: string;
  /** Whether one answer is right; a string says what is wrong. */
  check: (status: number, type: string, body: string) => true | string;
}

function jsonCheck(expected: unknown): Plan['check'] {
  return (status, type, body) => {
    if (status !== 200) return `status ${status}, expected 200: ${body.slice(0, 120)}`;
    if (!type.includes('json')) return `Content-Type ${type || '(none)'}, expected JSON`;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return `the body is not JSON: ${body.slice(0, 120)}`;
    }
    return isDeepStrictEqual(value, expected) || `unexpected body: ${body.slice(0, 120)}`;
  };
}

const plans: Record<typeof which, Plan> = {
  hello: {
    path: '/',
    method: 'GET',
    check: (status, _type, body) =>
      status !== 200
        ? `status ${status}, expected 200`
        : body === HELLO || `unexpected body: ${JSON.stringify(body.slice(0, 120))}`,
  },
  routes: { path: ROUTES_PATH, method: 'GET', check: jsonCheck(ROUTES_ANSWER) },
  echo: { path: ECHO_PATH, method: 'POST', body: JSON.stringify(PAYLOAD), check: jsonCheck(PAYLOAD) },
};
const plan = plans[which];

/** One request over node:http, as wrk will send it; resolves to what was wrong, if anything. */
function probe(): Promise<true | string> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = {};
    if (plan.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(plan.body);
    }
    const req = request({ host: '127.0.0.1', port, path: plan.path, method: plan.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve(
          plan.check(
            res.statusCode ?? 0,
            String(res.headers['content-type'] ?? ''),
            Buffer.concat(chunks).toString('utf8'),
          ),
        ),
      );
      res.on('error', (err) => resolve(`response failed: ${err.message}`));
    });
    req.on('error', (err) => resolve(`request failed: ${err.message}`));
    req.end(plan.body);
  });
}

const probed = await probe();
if (probed !== true) fail(`the check request got a wrong answer: ${probed}`);

const env: NodeJS.ProcessEnv = { ...process.env, WK_METHOD: '' };
if (plan.body !== undefined) {
  Object.assign(env, { WK_METHOD: plan.method, WK_BODY: plan.body, WK_CONTENT_TYPE: 'application/json' });
}

/** One wrk run of `seconds`; `onSpawn` runs once wrk is started. */
async function runWrk(seconds: number, onSpawn: () => void = () => {}): Promise<string> {
  const args = [
    ...['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`],
    ...['--timeout', `${TIMEOUT_S}s`, '-s', 'bench/server/wrk.lua'],
    `http://127.0.0.1:${port}${plan.path}`,
  ];
  // cwd is the repository root (the runner starts every child there), where the Lua script is.
  const wrk = spawn(WRK, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  wrk.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  wrk.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    wrk.once('error', (error) => resolve({ code: null, error }));
    wrk.once('spawn', onSpawn);
    wrk.once('close', (code) => resolve({ code }));
  });
  if (exit.error !== undefined) fail(`could not run ${WRK}: ${exit.error.message} (apt-get install wrk)`);
  if (exit.code !== 0)
    fail(`wrk exited with code ${exit.code}: ${(stderr || stdout).trim().split('\n').pop()}`);
  return stdout;
}

// A short unmeasured run first: the target has idled while the other contenders were measured
// (V8 shrinks an idle heap and may drop optimised code), and every round should measure the
// steady state, not its first second of coming back. It must be clean too.
const settle = parseWrk(await runWrk(SETTLE_S));
if (typeof settle === 'string' || settle.ok !== true) {
  fail(`settling run: ${typeof settle === 'string' ? settle : String(settle.error)}`);
}
const stdout = await runWrk(duration, () => report('start', {}));
report('end');

const parsed = parseWrk(stdout);
if (typeof parsed === 'string') fail(parsed);
report('result', parsed);
exitWithRunner();

/** The result event from wrk's report; a string says why the run failed. */
function parseWrk(text: string): Record<string, unknown> | string {
  const line = /^WKBENCH (\{.*\})$/m.exec(text);
  if (line === null) return `no WKBENCH line in wrk's output: ${text.trim().split('\n').pop()}`;
  const n = JSON.parse(line[1]!) as Record<string, number>;
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const perSecond = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const errors = {
    connect: n.connect!,
    read: n.read!,
    write: n.write!,
    timeout: n.timeout!,
    non2xx: n.status!,
  };
  const problems: string[] = [];
  if (socketErrors !== null) problems.push(socketErrors[0]);
  if (non2xx !== null) problems.push(non2xx[0]);
  // The two views must agree: a line that went missing from either still fails the run.
  if (socketErrors === null && errors.connect + errors.read + errors.write + errors.timeout > 0) {
    problems.push(`socket errors: ${JSON.stringify(errors)}`);
  }
  if (non2xx === null && errors.non2xx > 0) problems.push(`${errors.non2xx} non-2xx or 3xx responses`);
  const seconds = n.durationUs! / 1e6;
  const value = n.requests! / seconds;
  if (perSecond === null) problems.push("no Requests/sec line in wrk's report");
  const detail = {
    requests: n.requests,
    seconds,
    bytes: n.bytes,
    connections,
    threads,
    wrkRequestsPerSec: perSecond === null ? null : Number(perSecond[1]),
    latencyMeanMs: n.meanUs! / 1000,
    latencyP50Ms: n.p50Us! / 1000,
    latencyP90Ms: n.p90Us! / 1000,
    latencyP99Ms: n.p99Us! / 1000,
    latencyMaxMs: n.maxUs! / 1000,
    errors,
  };
  if (problems.length > 0) {
    return {
      ok: false,
      value,
      error: `wrk: ${problems.join('; ')} (a fast error is not a fast server)`,
      detail,
    };
  }
  if (!(n.requests! > 0)) return { ok: false, value: 0, error: 'wrk completed no request', detail };
  return { ok: true, value, detail };
}
