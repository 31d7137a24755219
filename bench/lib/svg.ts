/**
 * The ratio chart of an area as a hand-written SVG string: one bar per case and non-baseline
 * contender (grouped by case when a case has several), its ratio printed on it, a dashed line
 * at each level its targets ask for and a solid one at the baseline (1.0x). No dependency,
 * readable diff when re-recorded.
 */
import { formatRatio } from './format.js';
import type { CaseResult } from './types.js';

interface Bar {
  name: string;
  ratio: number | null;
  /** Levels the contender's targets ask for, on the ratio scale. */
  levels: number[];
  /** `pass`, `fail`, or `none` for a contender shown without a target. */
  state: 'pass' | 'fail' | 'none';
  unavailable: boolean;
}

interface Group {
  label: string;
  baseline: string;
  bars: Bar[];
}

const HEIGHT = 360;
const MIN_WIDTH = 720;
const MARGIN = { top: 56, right: 24, bottom: 64, left: 56 };
/** Room for one bar when a case has several contenders. */
const BAR_SLOT = 64;
const GROUP_GAP = 28;
const COLORS = { pass: '#2e7d32', fail: '#c62828', none: '#78909c' };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function groups(cases: CaseResult[]): Group[] {
  return cases.map(({ benchCase, results }) => ({
    label: benchCase.lowerIsBetter === true ? `${benchCase.title} (lower is better)` : benchCase.title,
    baseline: results.find((r) => r.contender.baseline === true)?.contender.name ?? 'baseline',
    bars: results
      .filter((r) => r.contender.baseline !== true)
      .map((r) => ({
        name: r.contender.name,
        ratio: r.ratio,
        levels: r.checks.flatMap((c) => (c.level === null ? [] : [c.level])),
        state: r.checks.length === 0 && r.ok ? 'none' : r.pass ? 'pass' : 'fail',
        unavailable: r.unavailable !== undefined,
      })),
  }));
}

export function renderChart(title: string, cases: CaseResult[]): string {
  const data = groups(cases);
  const direction = cases.some((c) => c.benchCase.lowerIsBetter === true)
    ? 'higher is better, unless marked lower'
    : 'higher is better';
  const bars = data.flatMap((g) => g.bars);
  // One bar per case keeps the roomy layout; several get a fixed slot each, grouped by case.
  const dense = data.some((g) => g.bars.length > 1);
  const plotW = dense
    ? Math.max(MIN_WIDTH - MARGIN.left - MARGIN.right, bars.length * BAR_SLOT + (data.length - 1) * GROUP_GAP)
    : MIN_WIDTH - MARGIN.left - MARGIN.right;
  const width = plotW + MARGIN.left + MARGIN.right;
  const top = Math.max(
    1.2,
    ...bars.map((b) => (b.ratio ?? 0) * 1.1),
    ...bars.flatMap((b) => b.levels.map((l) => l * 1.1)),
  );
  const yMax = Math.ceil(top * 5) / 5;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (ratio: number) => MARGIN.top + plotH - (ratio / yMax) * plotH;
  const slot = dense
    ? (plotW - (data.length - 1) * GROUP_GAP) / Math.max(1, bars.length)
    : plotW / Math.max(1, bars.length);
  const barW = dense ? slot * 0.62 : Math.min(140, slot * 0.5);
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="42" text-anchor="middle" fill="#555">median ratio to the baseline (${direction}); dashed: target${dense ? 's (a ratio, or the level of a contender to beat); red: a target missed, RSS included (see the table); grey: no target' : ''}</text>`,
  );
  const ticks = yMax > 2.4 ? 0.5 : 0.2;
  for (let tick = 0; tick <= yMax + 1e-9; tick += ticks) {
    const ty = y(tick).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${ty}" y2="${ty}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${ty}" dy="4" text-anchor="end" fill="#555">${tick.toFixed(1)}</text>`,
    );
  }
  let x0 = MARGIN.left;
  for (const group of data) {
    const groupW = slot * group.bars.length;
    group.bars.forEach((bar, i) => {
      const cx = x0 + slot * (i + 0.5);
      const x = cx - barW / 2;
      const color = COLORS[bar.state];
      if (bar.unavailable || bar.ratio === null) {
        const text = bar.unavailable ? 'n/a' : 'failed';
        const fill = bar.unavailable ? COLORS.none : COLORS.fail;
        out.push(
          `<text x="${cx}" y="${y(0) - 8}" text-anchor="middle" fill="${fill}" font-weight="600">${text}</text>`,
        );
      } else {
        const by = y(bar.ratio);
        out.push(
          `<rect x="${x.toFixed(1)}" y="${by.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - by).toFixed(1)}" fill="${color}" fill-opacity="0.75"/>`,
          `<text x="${cx}" y="${(by - 6).toFixed(1)}" text-anchor="middle" font-weight="600"${dense ? ' font-size="11"' : ''}>${formatRatio(bar.ratio)}</text>`,
        );
      }
      for (const level of bar.levels) {
        const ty = y(level).toFixed(1);
        const reach = dense ? 6 : 12;
        out.push(
          // A white halo keeps the dashes readable where they cross the bar.
          `<line x1="${(x - reach).toFixed(1)}" x2="${(x + barW + reach).toFixed(1)}" y1="${ty}" y2="${ty}" stroke="#fff" stroke-width="4"/>`,
          `<line x1="${(x - reach).toFixed(1)}" x2="${(x + barW + reach).toFixed(1)}" y1="${ty}" y2="${ty}" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"/>`,
        );
        if (!dense) {
          out.push(
            `<text x="${(x + barW + 14).toFixed(1)}" y="${ty}" dy="4" fill="#222" font-size="11">target ${formatRatio(level)}</text>`,
          );
        }
      }
      const sublabel = dense ? bar.name : `${bar.name} / ${group.baseline}`;
      out.push(
        `<text x="${cx}" y="${HEIGHT - MARGIN.bottom + (dense ? 16 : 38)}" text-anchor="middle" fill="#555"${dense ? ' font-size="11"' : ''}>${escapeXml(sublabel)}</text>`,
      );
      if (!dense) {
        out.push(
          `<text x="${cx}" y="${HEIGHT - MARGIN.bottom + 20}" text-anchor="middle">${escapeXml(group.label)}</text>`,
        );
      }
    });
    if (dense) {
      out.push(
        `<text x="${x0 + groupW / 2}" y="${HEIGHT - MARGIN.bottom + 38}" text-anchor="middle">${escapeXml(group.label)}</text>`,
        `<text x="${x0 + groupW / 2}" y="${HEIGHT - MARGIN.bottom + 54}" text-anchor="middle" fill="#555" font-size="11">baseline: ${escapeXml(group.baseline)}</text>`,
      );
    }
    x0 += groupW + (dense ? GROUP_GAP : 0);
  }
  const one = y(1).toFixed(1);
  out.push(
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${one}" y2="${one}" stroke="#888" stroke-width="1"/>`,
    `<text x="${width - MARGIN.right}" y="${one}" dy="-4" text-anchor="end" fill="#888" font-size="11">baseline 1.00x</text>`,
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#222"/>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
