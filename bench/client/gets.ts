/**
 * The driver of the GET case, shared by every Node client contender: runs the contender's `get`
 * from `--concurrency` loops at once (each awaits its own request, then takes the next), first
 * for the warm-up requests, then for the measured ones between `start` and `end`. Every answer
 * is checked, warm-up included: status 200 and a body of exactly `--bytes` characters (the file
 * is ASCII). The first wrong answer or failed request ends the run with a failed result: a
 * fast error is not a fast client.
 *
 * Arguments: --port, --path, --requests, --warmup-requests, --concurrency, --bytes.
 * Events: start, end, result (value: requests/s over the measured requests).
 */
import { performance } from 'node:perf_hooks';
import { exitWithRunner, fail, numberArg, report, stringArg } from '../lib/child.js';

/** One GET of `url`, as the contender's library does it: the status and the body as text. */
export type Get = (url: string) => Promise<{ status: number; body: string }>;

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch and undici wrap the socket's error: its cause is what went wrong.
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.name}: ${err.message}${cause}`;
}

/** Runs the case with `get`; reports the result and stays until the runner closes stdin. */
export async function runGets(get: Get): Promise<void> {
  exitWithRunner();
  const url = `http://127.0.0.1:${numberArg('port')}${stringArg('path')}`;
  const requests = numberArg('requests');
  const warmupRequests = numberArg('warmup-requests');
  const concurrency = numberArg('concurrency');
  const bytes = numberArg('bytes');

  const run = async (total: number): Promise<void> => {
    let issued = 0;
    const loop = async (): Promise<void> => {
      while (issued < total) {
        const n = issued++;
        let answer: Awaited<ReturnType<Get>>;
        try {
          answer = await get(url);
        } catch (err) {
          throw new Error(`request ${n} failed: ${describe(err)}`);
        }
        if (answer.status !== 200) throw new Error(`request ${n}: status ${answer.status}, expected 200`);
        if (answer.body.length !== bytes) {
          throw new Error(`request ${n}: a body of ${answer.body.length} characters, expected ${bytes}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, loop));
  };

  try {
    await run(warmupRequests);
  } catch (err) {
    fail(`warm-up: ${(err as Error).message}`);
  }
  report('start');
  const from = performance.now();
  try {
    await run(requests);
  } catch (err) {
    fail((err as Error).message);
  }
  const seconds = (performance.now() - from) / 1000;
  report('end');
  report('result', {
    ok: true,
    value: requests / seconds,
    detail: { requests, seconds, concurrency, warmupRequests, bytes },
  });
}
