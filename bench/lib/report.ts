/** The terminal view of a case: a padded table, then every error and saturation warning. */
import { formatCpu, formatNumber, formatRatio } from './format.js';
import { saturationNotes } from './stats.js';
import type { CaseResult } from './types.js';

export function printCase({ benchCase, results }: CaseResult, log: (line: string) => void): void {
  const header = [
    'contender',
    `median ${benchCase.unit}`,
    'range',
    'ratio',
    'result',
    'cpu load',
    'cpu target',
  ];
  const rows = results.map((r) => [
    r.contender.baseline ? `${r.contender.name} (baseline)` : r.contender.name,
    formatNumber(r.median),
    r.ok ? `${formatNumber(r.min)}–${formatNumber(r.max)}` : '—',
    formatRatio(r.ratio),
    r.contender.baseline ? (r.ok ? 'baseline' : 'FAILED') : r.pass ? 'pass' : r.ok ? 'MISS' : 'FAILED',
    formatCpu(r.loadCpu),
    formatCpu(r.targetCpu),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')}`.trimEnd();
  log('');
  log(`${benchCase.title}: target >= ${formatRatio(benchCase.target)} of the baseline`);
  log(line(header));
  for (const row of rows) log(line(row));
  for (const r of results) {
    for (const note of [...r.errors, ...saturationNotes(r)]) log(`  ! ${r.contender.name}: ${note}`);
  }
  log('');
}
