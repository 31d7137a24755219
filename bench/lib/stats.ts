/** Medians, ratios and pass/fail: turns the samples of one case into its results. */
import type { BenchCase, ContenderResult, Sample } from './types.js';

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

/**
 * One result per contender. A contender with any failed round fails outright: a fast error is
 * not a fast server, so its numbers never make it into a ratio.
 */
export function summarize(benchCase: BenchCase, samples: Map<string, Sample[]>): ContenderResult[] {
  const partial = benchCase.contenders.map((contender) => {
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
      errors: [...new Set(runs.filter((s) => !s.ok).map((s) => s.error ?? 'failed'))],
    };
  });
  const baseline = partial.find((r) => r.contender.baseline === true);
  return partial.map((r): ContenderResult => {
    const ratio = r.ok && baseline?.ok === true ? r.median / baseline.median : null;
    const pass = r.contender.baseline === true ? r.ok : ratio !== null && ratio >= benchCase.target;
    return { ...r, ratio, pass };
  });
}

/**
 * Warnings a reader needs before trusting a number: the target should use its whole core
 * (else something else limits it) and the load generator should not (else it is the limit).
 */
export function saturationNotes(result: ContenderResult): string[] {
  const notes: string[] = [];
  if (!result.ok) return notes;
  if (result.targetCpu !== null && result.targetCpu < 85) {
    notes.push(
      `target core not saturated (${Math.round(result.targetCpu)}%): another process shared it, or something outside the target limited it`,
    );
  }
  if (result.loadCpu !== null && result.loadCpu > 90) {
    notes.push(`load generator near saturation (${Math.round(result.loadCpu)}%): it may be the limit`);
  }
  return notes;
}
