/** Number formatting shared by the terminal table, the doc and the chart. */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `61,234`; `failed` for NaN. */
export function formatNumber(value: number): string {
  return Number.isFinite(value) ? grouped.format(value) : 'failed';
}

/** `61,234 round trips/s`; `failed` for NaN. */
export function formatValue(value: number, unit: string): string {
  return Number.isFinite(value) ? `${grouped.format(value)} ${unit}` : 'failed';
}

/** `0.93x`; an em dash when there is no ratio. */
export function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : `${ratio.toFixed(2)}x`;
}

/** `97%`, or `n/a` when /proc could not be read. */
export function formatCpu(percent: number | null): string {
  return percent === null ? 'n/a' : `${Math.round(percent)}%`;
}

/** `61 MiB`, or `n/a` when /proc could not be read. */
export function formatRss(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** `0.62 ms`: a number with a unit and fixed digits; `n/a` for null or NaN. */
export function formatFixed(value: number | null, unit: string, digits = 0): string {
  return value === null || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(digits)} ${unit}`;
}
