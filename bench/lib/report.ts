/** The terminal view of a case: a padded table, then every error and saturation warning. */
import { formatCpu, formatFixed, formatNumber, formatRatio, formatRss } from './format.js';
import { detailMedian, roleNames, saturationNotes } from './stats.js';
import type { CaseResult, ContenderResult } from './types.js';

/** `pass`, `MISS`, `FAILED`, `n/a`, `baseline` or `ok` (ran, no target): the result column. */
export function verdict(r: ContenderResult): string {
  if (r.unavailable !== undefined) return 'n/a';
  if (!r.ok) return 'FAILED';
  if (r.contender.baseline) return 'baseline';
  if (r.checks.length === 0) return 'ok';
  return r.pass ? 'pass' : 'MISS';
}

/** The targets of a contender and what each measured: `≥ 1.00x fastify: 1.12x`. */
export function checkLines(r: ContenderResult): string[] {
  return r.checks.map(
    (c) =>
      `${c.label}: ${c.ratio === null ? 'not measured' : formatRatio(c.ratio)} ${c.pass ? 'pass' : 'MISS'}`,
  );
}

export function printCase({ benchCase, results }: CaseResult, log: (line: string) => void): void {
  const columns = benchCase.columns ?? [];
  const names = roleNames(benchCase);
  const header = [
    'contender',
    `median ${benchCase.unit}`,
    'range',
    'ratio',
    'result',
    `cpu ${names.load}`,
    `cpu ${names.target}`,
    `rss ${names.target}`,
    ...columns.map((c) => c.label),
  ];
  const rows = results.map((r) => [
    r.contender.baseline ? `${r.contender.name} (baseline)` : r.contender.name,
    r.unavailable !== undefined ? 'n/a' : formatNumber(r.median),
    r.ok ? `${formatNumber(r.min)}–${formatNumber(r.max)}` : '—',
    formatRatio(r.ratio),
    verdict(r),
    formatCpu(r.loadCpu),
    formatCpu(r.targetCpu),
    formatRss(r.targetRss),
    ...columns.map((c) => formatFixed(detailMedian(r, c.key), c.unit, c.digits)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')}`.trimEnd();
  log('');
  log(
    benchCase.target === null
      ? benchCase.title
      : `${benchCase.title}: target ${benchCase.lowerIsBetter === true ? '<=' : '>='} ${formatRatio(benchCase.target)} of the baseline`,
  );
  log(line(header));
  for (const row of rows) log(line(row));
  for (const r of results) {
    for (const check of r.checks.length > 1 || benchCase.target === null ? checkLines(r) : []) {
      log(`  target ${r.contender.name} ${check}`);
    }
  }
  for (const r of results) {
    if (r.unavailable !== undefined) log(`  - ${r.contender.name}: not measured: ${r.unavailable}`);
    for (const note of [...r.errors, ...saturationNotes(r, benchCase)])
      log(`  ! ${r.contender.name}: ${note}`);
  }
  log('');
}
