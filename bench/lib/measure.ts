/**
 * Runs one case: every contender's target in its own process on the target core, one warm-up
 * each, then the rounds, contenders alternated (ABBA) so slow drift on the machine spreads over
 * all of them. A new load generator process on the load core serves each measurement.
 */
import { cpuMark, cpuPercent, sampleRss } from './cpu.js';
import { formatCpu, formatRss, formatValue } from './format.js';
import { LOAD_CORE, TARGET_CORE } from './machine.js';
import { BenchProcess, type ChildEvent, type Launcher } from './process.js';
import { summarize } from './stats.js';
import type { BenchCase, CaseResult, Contender, RunOptions, Sample } from './types.js';

export interface MeasureContext {
  launcher: Launcher;
  options: RunOptions;
  /** Maps a bench script (`tcp/line-load.ts`) to the file node runs. */
  resolveScript: (script: string) => string;
  /** Where `--profile` puts the targets' .cpuprofile files. */
  profileDir: string;
  log: (line: string) => void;
}

interface Target {
  process: BenchProcess;
  port: number;
  /** The process that serves: the target's own, or the one it named (a runtime it started). */
  pid: number;
}

const START_TIMEOUT_MS = 15_000;

async function startTarget(c: BenchCase, contender: Contender, ctx: MeasureContext): Promise<Target> {
  const flags = ctx.options.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${ctx.profileDir}`,
        `--cpu-prof-name=${c.id}-${slug(contender.name)}.cpuprofile`,
      ]
    : [];
  const argv = [process.execPath, ...flags, ctx.resolveScript(contender.script), ...(contender.args ?? [])];
  const child = new BenchProcess(argv, ctx.launcher, TARGET_CORE);
  try {
    const event = await child.next(['listening'], START_TIMEOUT_MS);
    if (typeof event.port !== 'number') throw new Error('listening event without a port');
    // A target that runs another program (python, nginx) names the pid that does the work.
    const pid = typeof event.pid === 'number' ? event.pid : child.pid;
    return { process: child, port: event.port, pid };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

async function runLoad(
  c: BenchCase,
  target: Target,
  phase: 'warmup' | 'measure',
  ctx: MeasureContext,
): Promise<Sample> {
  const { script, args } = c.load({ port: target.port, phase, options: ctx.options });
  const timeoutMs = c.timeoutMs(ctx.options);
  const stderrBefore = target.process.stderr.length;
  const load = new BenchProcess(
    [process.execPath, ctx.resolveScript(script), ...args],
    ctx.launcher,
    LOAD_CORE,
  );
  let sample: Sample;
  try {
    const start = await load.next(['start'], timeoutMs);
    // A load generator may name another pid to measure, one that lives through the window. One
    // that runs a program for the window (wrk) does not need to: the program's CPU time is
    // added to its parent's once it has exited and been reaped (see cpu.ts).
    const loadPid = typeof start.pid === 'number' ? start.pid : load.pid;
    const loadFrom = cpuMark(loadPid);
    const targetFrom = cpuMark(target.pid);
    const rss = sampleRss(target.pid);
    const stop = await load.next(['end', 'result'], timeoutMs).finally(() => rss.stop());
    const targetRss = rss.stop();
    const loadCpu = cpuPercent(loadFrom, cpuMark(loadPid));
    const targetCpu = cpuPercent(targetFrom, cpuMark(target.pid));
    const result = stop.event === 'result' ? stop : await load.next(['result'], timeoutMs);
    sample = toSample(result, loadCpu, targetCpu, targetRss);
  } catch (err) {
    sample = {
      ok: false,
      value: 0,
      error: `load generator: ${(err as Error).message}`,
      loadCpu: null,
      targetCpu: null,
      targetRss: null,
    };
  } finally {
    await load.stop();
  }
  // A target that crashed or complained did not pass, whatever the load generator saw.
  if (target.process.exitReason !== null) {
    return { ...sample, ok: false, error: `target exited (${target.process.exitReason})` };
  }
  const complaint = target.process.stderr.slice(stderrBefore).trim();
  if (complaint !== '') {
    return { ...sample, ok: false, error: `target wrote to stderr: ${complaint.split('\n')[0]}` };
  }
  return sample;
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

export async function measureCase(c: BenchCase, ctx: MeasureContext): Promise<CaseResult> {
  const samples = new Map<string, Sample[]>(c.contenders.map((k) => [k.name, []]));
  const targets = new Map<Contender, Target>();
  const failed = (contender: Contender, error: string) => {
    const list = samples.get(contender.name) as Sample[];
    list.push({ ok: false, value: 0, error, loadCpu: null, targetCpu: null, targetRss: null });
  };
  try {
    for (const contender of c.contenders) {
      if (contender.unavailable !== undefined) {
        ctx.log(`  n/a      ${contender.name.padEnd(10)} ${contender.unavailable}`);
        continue;
      }
      try {
        targets.set(contender, await startTarget(c, contender, ctx));
      } catch (err) {
        failed(contender, `target did not start: ${(err as Error).message}`);
      }
    }
    for (const [contender, target] of targets) {
      const warm = await runLoad(c, target, 'warmup', ctx);
      ctx.log(`  warm-up  ${contender.name.padEnd(10)} ${warm.ok ? 'ok' : `FAILED: ${warm.error}`}`);
      if (!warm.ok) failed(contender, `warm-up: ${warm.error}`);
    }
    for (let round = 0; round < ctx.options.rounds; round++) {
      const order = round % 2 === 0 ? c.contenders : [...c.contenders].reverse();
      for (const contender of order) {
        const target = targets.get(contender);
        if (target === undefined) continue;
        const sample = await runLoad(c, target, 'measure', ctx);
        samples.get(contender.name)?.push(sample);
        ctx.log(`  round ${round + 1}  ${contender.name.padEnd(10)} ${describe(sample, c.unit)}`);
      }
    }
  } finally {
    await Promise.all([...targets.values()].map((t) => t.process.stop()));
  }
  return { benchCase: c, results: summarize(c, samples) };
}

function describe(sample: Sample, unit: string): string {
  if (!sample.ok) return `FAILED: ${sample.error}`;
  const cpu = `cpu load ${formatCpu(sample.loadCpu)}, target ${formatCpu(sample.targetCpu)}, rss ${formatRss(sample.targetRss)}`;
  return `${formatValue(sample.value, unit)}  (${cpu})`;
}

function slug(name: string): string {
  return name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');
}
