/** Medians, ratios and pass/fail: turns the samples of one case into its results. */
import { formatRatio } from './format.js';
import type { BenchCase, Check, ContenderResult, Sample } from './types.js';

/** Median of the values; NaN for none. Robust against the odd round a noisy neighbour spoils. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function medianOrNull(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : median(known);
}

/** Median over rounds of a number the load generator put in `detail`; null when none did. */
export function detailMedian(result: ContenderResult, key: string): number | null {
  return medianOrNull(
    result.samples.map((s) =>
      s.ok && typeof s.detail?.[key] === 'number' ? (s.detail[key] as number) : null,
    ),
  );
}

type Measured = Omit<ContenderResult, 'ratio' | 'checks' | 'pass'>;

/**
 * The median over rounds of this round's value over the other's in the same round. Rounds run
 * every contender back to back, so a ratio within a round compares two runs a few seconds
 * apart: drift on a shared machine (a neighbour busy for half a minute) moves both sides and
 * cancels, where the ratio of two medians would carry it. Null when a side has no value.
 */
export function pairedRatio(
  mine: Sample[],
  theirs: Sample[],
  pick: (s: Sample) => number | null,
): number | null {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(mine.length, theirs.length); i++) {
    const a = mine[i] as Sample;
    const b = theirs[i] as Sample;
    if (!a.ok || !b.ok) return null;
    const x = pick(a);
    const y = pick(b);
    if (x !== null && y !== null && y > 0) ratios.push(x / y);
  }
  return ratios.length === 0 ? null : median(ratios);
}

const valueOf = (s: Sample): number => s.value;
const rssOf = (s: Sample): number | null => s.targetRss;

/** The targets of one contender: the ratio to the baseline, then each `versus`. */
function checksOf(
  benchCase: BenchCase,
  r: Measured,
  all: Measured[],
  baseline: Measured | undefined,
): Check[] {
  const checks: Check[] = [];
  if (r.contender.baseline === true) return checks;
  const ratioTo = (other: Measured | undefined, pick: (s: Sample) => number | null): number | null =>
    other === undefined || !r.ok || !other.ok ? null : pairedRatio(r.samples, other.samples, pick);
  // In a lowerIsBetter case every value target is a ceiling.
  const lower = benchCase.lowerIsBetter === true;
  const meets = (ratio: number | null, level: number) =>
    ratio !== null && (lower ? ratio <= level : ratio >= level);
  const sign = lower ? '≤' : '≥';
  const baselineRatio = ratioTo(baseline, valueOf);
  const target = r.contender.target === undefined ? benchCase.target : r.contender.target;
  if (target !== null) {
    checks.push({
      label: `${sign} ${formatRatio(target)}`,
      ratio: baselineRatio,
      pass: meets(baselineRatio, target),
      level: target,
    });
  }
  for (const v of r.contender.versus ?? []) {
    const other = all.find((m) => m.contender.name === v.against);
    if (v.metric === 'value') {
      const ratio = ratioTo(other, valueOf);
      const otherRatio =
        baseline?.ok && other?.ok ? pairedRatio(other.samples, baseline.samples, valueOf) : null;
      checks.push({
        label: `${sign} ${formatRatio(v.ratio)} ${v.against}`,
        ratio,
        pass: meets(ratio, v.ratio),
        level: otherRatio === null ? null : otherRatio * v.ratio,
      });
    } else {
      const ratio = ratioTo(other, rssOf);
      checks.push({
        label: `RSS ≤ ${formatRatio(v.ratio)} ${v.against}`,
        ratio,
        pass: ratio !== null && ratio <= v.ratio,
        level: null,
      });
    }
  }
  return checks;
}

/**
 * One result per contender. A contender with any failed round fails outright: a fast error is
 * not a fast server, so its numbers never make it into a ratio.
 */
export function summarize(benchCase: BenchCase, samples: Map<string, Sample[]>): ContenderResult[] {
  const partial = benchCase.contenders.map((contender): Measured => {
    const runs = samples.get(contender.name) ?? [];
    const good = runs.filter((s) => s.ok).map((s) => s.value);
    const ok = runs.length > 0 && good.length === runs.length;
    return {
      contender,
      samples: runs,
      ok,
      median: ok ? median(good) : Number.NaN,
      min: ok ? Math.min(...good) : Number.NaN,
      max: ok ? Math.max(...good) : Number.NaN,
      loadCpu: medianOrNull(runs.map((s) => s.loadCpu)),
      targetCpu: medianOrNull(runs.map((s) => s.targetCpu)),
      targetRss: medianOrNull(runs.map((s) => (s.ok ? s.targetRss : null))),
      ...(contender.unavailable !== undefined ? { unavailable: contender.unavailable } : {}),
      errors: [...new Set(runs.filter((s) => !s.ok).map((s) => s.error ?? 'failed'))],
    };
  });
  const baseline = partial.find((r) => r.contender.baseline === true);
  return partial.map((r): ContenderResult => {
    const ratio = r.ok && baseline?.ok === true ? pairedRatio(r.samples, baseline.samples, valueOf) : null;
    const checks = checksOf(benchCase, r, partial, baseline);
    const pass = r.unavailable !== undefined || (r.ok && checks.every((c) => c.pass));
    return { ...r, ratio, checks, pass };
  });
}

/**
 * What the two measured processes of a case are called: the load generator and the target, or
 * in a client case the server and the client. `load` and `target` head columns; `loadProcess`
 * names the first in prose.
 */
export function roleNames(benchCase: BenchCase): { load: string; target: string; loadProcess: string } {
  return benchCase.mode === 'client'
    ? { load: 'server', target: 'client', loadProcess: 'server' }
    : { load: 'load', target: 'target', loadProcess: 'load generator' };
}

/**
 * Warnings a reader needs before trusting a number: the target (a client case's client) should
 * use its whole core (else something else limits it) and the load generator (the server) should
 * not (else it is the limit).
 */
export function saturationNotes(result: ContenderResult, benchCase: BenchCase): string[] {
  const notes: string[] = [];
  // A cost measured at rest (memory) is not meant to saturate anything.
  if (!result.ok || benchCase.lowerIsBetter === true) return notes;
  const names = roleNames(benchCase);
  if (result.targetCpu !== null && result.targetCpu < 85) {
    notes.push(
      `${names.target} core not saturated (${Math.round(result.targetCpu)}%): another process shared it, or something outside the ${names.target} limited it`,
    );
  }
  if (result.loadCpu !== null && result.loadCpu > 90) {
    notes.push(`${names.loadProcess} near saturation (${Math.round(result.loadCpu)}%): it may be the limit`);
  }
  return notes;
}
