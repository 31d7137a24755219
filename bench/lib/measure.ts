/**
 * Runs one case, in one of two shapes. Target case: every contender's target in its own process
 * on the target core, one warm-up each, then the rounds, with a new load generator process on
 * the load core for each measurement. Client case: the case's server (if any) once on the load
 * core, then the rounds, each contender a new client process on the target core. Either way the
 * contenders of a round alternate (ABBA) so slow drift on the machine spreads over all of them.
 */
import { cpuMark, cpuPercent, sampleRss } from './cpu.js';
import { formatCpu, formatRss, formatValue } from './format.js';
import { LOAD_CORE, TARGET_CORE } from './machine.js';
import { BenchProcess, type ChildEvent, type Launcher } from './process.js';
import { roleNames, summarize } from './stats.js';
import type {
  BenchCase,
  CaseResult,
  ClientCase,
  Contender,
  Launch,
  RunOptions,
  Sample,
  TargetCase,
} from './types.js';

export interface MeasureContext {
  launcher: Launcher;
  options: RunOptions;
  /** Maps a bench script (`tcp/line-load.ts`) to the file node runs. */
  resolveScript: (script: string) => string;
  /** Where `--profile` puts the targets' .cpuprofile files. */
  profileDir: string;
  log: (line: string) => void;
}

/** A process that lives through the case: a target, or a client case's server. */
interface Listening {
  process: BenchProcess;
  port: number;
  /** The process that serves: the script's own, or the one it named (a runtime it started). */
  pid: number;
  /** Its `listening` event, for the load generator (a control port beside the port...). */
  event: ChildEvent;
}

const START_TIMEOUT_MS = 15_000;

/** `node --cpu-prof` flags for a contender under `--profile`, else none. */
function profileFlags(c: BenchCase, contender: Contender, ctx: MeasureContext): string[] {
  return ctx.options.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${ctx.profileDir}`,
        `--cpu-prof-name=${c.id}-${slug(contender.name)}.cpuprofile`,
      ]
    : [];
}

async function startListening(
  launch: Launch,
  flags: string[],
  core: number,
  ctx: MeasureContext,
): Promise<Listening> {
  const argv = [process.execPath, ...flags, ctx.resolveScript(launch.script), ...launch.args];
  const child = new BenchProcess(argv, ctx.launcher, core);
  try {
    const event = await child.next(['listening'], START_TIMEOUT_MS);
    if (typeof event.port !== 'number') throw new Error('listening event without a port');
    // A target that runs another program (python, nginx) names the pid that does the work.
    const pid = typeof event.pid === 'number' ? event.pid : child.pid;
    return { process: child, port: event.port, pid, event };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/**
 * The measured window of `child`, a load generator or a client: from its `start` event to its
 * `end` (or `result`), the CPU time of the two processes `pids` names and the peak RSS of the
 * target, then the sample its `result` makes. `child` is stopped afterwards.
 */
async function measureWindow(
  child: BenchProcess,
  timeoutMs: number,
  pids: (start: ChildEvent) => { load: number | null; target: number },
  role: string,
): Promise<Sample> {
  try {
    const start = await child.next(['start'], timeoutMs);
    const { load, target } = pids(start);
    const loadFrom = load === null ? null : cpuMark(load);
    const targetFrom = cpuMark(target);
    const rss = sampleRss(target);
    const stop = await child.next(['end', 'result'], timeoutMs).finally(() => rss.stop());
    const targetRss = rss.stop();
    const loadCpu = load === null ? null : cpuPercent(loadFrom, cpuMark(load));
    const targetCpu = cpuPercent(targetFrom, cpuMark(target));
    const result = stop.event === 'result' ? stop : await child.next(['result'], timeoutMs);
    return toSample(result, loadCpu, targetCpu, targetRss);
  } catch (err) {
    return {
      ok: false,
      value: 0,
      error: `${role}: ${(err as Error).message}`,
      loadCpu: null,
      targetCpu: null,
      targetRss: null,
    };
  } finally {
    await child.stop();
  }
}

/** A long-lived process that crashed or complained during a run fails it, whatever was measured. */
function blame(sample: Sample, living: Listening, stderrBefore: number, role: string): Sample {
  if (living.process.exitReason !== null) {
    return { ...sample, ok: false, error: `${role} exited (${living.process.exitReason})` };
  }
  const complaint = living.process.stderr.slice(stderrBefore).trim();
  if (complaint !== '') {
    return { ...sample, ok: false, error: `${role} wrote to stderr: ${complaint.split('\n')[0]}` };
  }
  return sample;
}

async function runLoad(
  c: TargetCase,
  target: Listening,
  phase: 'warmup' | 'measure',
  ctx: MeasureContext,
): Promise<Sample> {
  const { script, args } = c.load({
    port: target.port,
    listening: target.event,
    phase,
    options: ctx.options,
  });
  const stderrBefore = target.process.stderr.length;
  const load = new BenchProcess(
    [process.execPath, ctx.resolveScript(script), ...args],
    ctx.launcher,
    LOAD_CORE,
  );
  // A load generator may name another pid to measure, one that lives through the window. One
  // that runs a program for the window (wrk) does not need to: the program's CPU time is
  // added to its parent's once it has exited and been reaped (see cpu.ts).
  const sample = await measureWindow(
    load,
    c.timeoutMs(ctx.options),
    (start) => ({ load: typeof start.pid === 'number' ? start.pid : load.pid, target: target.pid }),
    'load generator',
  );
  return blame(sample, target, stderrBefore, 'target');
}

async function runClient(
  c: ClientCase,
  contender: Contender,
  server: Listening | null,
  ctx: MeasureContext,
): Promise<Sample> {
  const args = [
    ...(contender.args ?? []),
    ...c.clientArgs({ port: server?.port ?? null, options: ctx.options }),
  ];
  const argv = [
    process.execPath,
    ...profileFlags(c, contender, ctx),
    ctx.resolveScript(contender.script),
    ...args,
  ];
  const stderrBefore = server?.process.stderr.length ?? 0;
  const client = new BenchProcess(argv, ctx.launcher, TARGET_CORE);
  // A client that runs another program (python) names the pid that does the work in `start`.
  const sample = await measureWindow(
    client,
    c.timeoutMs(ctx.options),
    (start) => ({
      load: server?.pid ?? null,
      target: typeof start.pid === 'number' ? start.pid : client.pid,
    }),
    'client',
  );
  return server === null ? sample : blame(sample, server, stderrBefore, 'server');
}

function toSample(
  result: ChildEvent,
  loadCpu: number | null,
  targetCpu: number | null,
  targetRss: number | null,
): Sample {
  const value = typeof result.value === 'number' && Number.isFinite(result.value) ? result.value : 0;
  const ok = result.ok === true && value > 0;
  const error = typeof result.error === 'string' ? result.error : ok ? undefined : 'no result';
  const detail = (result.detail ?? undefined) as Record<string, unknown> | undefined;
  return {
    ok,
    value,
    loadCpu,
    targetCpu,
    targetRss,
    ...(error ? { error } : {}),
    ...(detail ? { detail } : {}),
  };
}

const failedSample = (error: string): Sample => ({
  ok: false,
  value: 0,
  error,
  loadCpu: null,
  targetCpu: null,
  targetRss: null,
});

/** Logs the contenders that are not measured and returns the others. */
function available(c: BenchCase, ctx: MeasureContext, width: number): Contender[] {
  for (const contender of c.contenders) {
    if (contender.unavailable !== undefined) {
      ctx.log(`  n/a      ${contender.name.padEnd(width)} ${contender.unavailable}`);
    }
  }
  return c.contenders.filter((k) => k.unavailable === undefined);
}

/** Every round, the contenders in alternating order, each measured once by `measure`. */
async function rounds(
  c: BenchCase,
  ctx: MeasureContext,
  samples: Map<string, Sample[]>,
  width: number,
  measure: (contender: Contender) => Promise<Sample> | null,
): Promise<void> {
  for (let round = 0; round < ctx.options.rounds; round++) {
    const order = round % 2 === 0 ? c.contenders : [...c.contenders].reverse();
    for (const contender of order) {
      const pending = measure(contender);
      if (pending === null) continue;
      const sample = await pending;
      samples.get(contender.name)?.push(sample);
      ctx.log(`  round ${round + 1}  ${contender.name.padEnd(width)} ${describe(sample, c)}`);
    }
  }
}

/** One measurement on a target started for it alone, stopped after (a `freshTarget` case). */
async function measureFresh(c: TargetCase, contender: Contender, ctx: MeasureContext): Promise<Sample> {
  let target: Listening;
  try {
    const launch = { script: contender.script, args: contender.args ?? [] };
    target = await startListening(launch, profileFlags(c, contender, ctx), TARGET_CORE, ctx);
  } catch (err) {
    return failedSample(`target did not start: ${(err as Error).message}`);
  }
  try {
    return await runLoad(c, target, 'measure', ctx);
  } finally {
    await target.process.stop();
  }
}

async function measureTargets(c: TargetCase, ctx: MeasureContext, width: number): Promise<CaseResult> {
  const samples = new Map<string, Sample[]>(c.contenders.map((k) => [k.name, []]));
  if (c.freshTarget === true) {
    const measured = available(c, ctx, width);
    await rounds(c, ctx, samples, width, (contender) =>
      measured.includes(contender) ? measureFresh(c, contender, ctx) : null,
    );
    return { benchCase: c, results: summarize(c, samples) };
  }
  const targets = new Map<Contender, Listening>();
  const failed = (contender: Contender, error: string) =>
    samples.get(contender.name)?.push(failedSample(error));
  try {
    for (const contender of available(c, ctx, width)) {
      try {
        const launch = { script: contender.script, args: contender.args ?? [] };
        targets.set(
          contender,
          await startListening(launch, profileFlags(c, contender, ctx), TARGET_CORE, ctx),
        );
      } catch (err) {
        failed(contender, `target did not start: ${(err as Error).message}`);
      }
    }
    for (const [contender, target] of targets) {
      const warm = await runLoad(c, target, 'warmup', ctx);
      ctx.log(`  warm-up  ${contender.name.padEnd(width)} ${warm.ok ? 'ok' : `FAILED: ${warm.error}`}`);
      if (!warm.ok) failed(contender, `warm-up: ${warm.error}`);
    }
    await rounds(c, ctx, samples, width, (contender) => {
      const target = targets.get(contender);
      return target === undefined ? null : runLoad(c, target, 'measure', ctx);
    });
  } finally {
    await Promise.all([...targets.values()].map((t) => t.process.stop()));
  }
  return { benchCase: c, results: summarize(c, samples) };
}

async function measureClients(c: ClientCase, ctx: MeasureContext, width: number): Promise<CaseResult> {
  const samples = new Map<string, Sample[]>(c.contenders.map((k) => [k.name, []]));
  const clients = available(c, ctx, width);
  let server: Listening | null = null;
  try {
    if (c.server !== null) {
      try {
        server = await startListening(c.server, [], LOAD_CORE, ctx);
      } catch (err) {
        const error = `server did not start: ${(err as Error).message}`;
        ctx.log(`  ${error}`);
        for (const contender of clients) samples.get(contender.name)?.push(failedSample(error));
        return { benchCase: c, results: summarize(c, samples) };
      }
    }
    const live = server;
    await rounds(c, ctx, samples, width, (contender) =>
      clients.includes(contender) ? runClient(c, contender, live, ctx) : null,
    );
  } finally {
    await server?.process.stop();
  }
  return { benchCase: c, results: summarize(c, samples) };
}

export async function measureCase(c: BenchCase, ctx: MeasureContext): Promise<CaseResult> {
  const width = Math.max(10, ...c.contenders.map((k) => k.name.length));
  return c.mode === 'client' ? measureClients(c, ctx, width) : measureTargets(c, ctx, width);
}

function describe(sample: Sample, c: BenchCase): string {
  if (!sample.ok) return `FAILED: ${sample.error}`;
  const names = roleNames(c);
  const cpu = `cpu ${names.load} ${formatCpu(sample.loadCpu)}, ${names.target} ${formatCpu(sample.targetCpu)}, rss ${formatRss(sample.targetRss)}`;
  return `${formatValue(sample.value, c.unit)}  (${cpu})`;
}

function slug(name: string): string {
  return name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
}
