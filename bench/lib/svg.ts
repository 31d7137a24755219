/**
 * The ratio chart of an area as a hand-written SVG string: one bar per case (and per
 * non-baseline contender), its ratio printed on it, a dashed line at the case's target and a
 * solid one at the baseline (1.0x). No dependency, readable diff when re-recorded.
 */
import { formatRatio } from './format.js';
import type { CaseResult } from './types.js';

interface Bar {
  label: string;
  sublabel: string;
  ratio: number | null;
  target: number;
  pass: boolean;
}

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { top: 56, right: 24, bottom: 64, left: 56 };
const PASS = '#2e7d32';
const FAIL = '#c62828';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function bars(cases: CaseResult[]): Bar[] {
  return cases.flatMap(({ benchCase, results }) => {
    const baseline = results.find((r) => r.contender.baseline === true)?.contender.name ?? 'baseline';
    return results
      .filter((r) => r.contender.baseline !== true)
      .map((r) => ({
        label: benchCase.title,
        sublabel: `${r.contender.name} / ${baseline}`,
        ratio: r.ratio,
        target: benchCase.target,
        pass: r.pass,
      }));
  });
}

export function renderChart(title: string, cases: CaseResult[]): string {
  const data = bars(cases);
  const top = Math.max(1.2, ...data.map((b) => (b.ratio ?? 0) * 1.1), ...data.map((b) => b.target * 1.1));
  const yMax = Math.ceil(top * 5) / 5;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const y = (ratio: number) => MARGIN.top + plotH - (ratio / yMax) * plotH;
  const slot = plotW / Math.max(1, data.length);
  const barW = Math.min(140, slot * 0.5);
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="13">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(title)}</text>`,
    `<text x="${WIDTH / 2}" y="42" text-anchor="middle" fill="#555">median ratio to the baseline (higher is better); dashed: target</text>`,
  );
  for (let tick = 0; tick <= yMax + 1e-9; tick += 0.2) {
    const ty = y(tick).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${ty}" y2="${ty}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${ty}" dy="4" text-anchor="end" fill="#555">${tick.toFixed(1)}</text>`,
    );
  }
  data.forEach((bar, i) => {
    const cx = MARGIN.left + slot * (i + 0.5);
    const x = cx - barW / 2;
    const color = bar.pass ? PASS : FAIL;
    if (bar.ratio === null) {
      out.push(
        `<text x="${cx}" y="${y(0) - 8}" text-anchor="middle" fill="${FAIL}" font-weight="600">failed</text>`,
      );
    } else {
      const by = y(bar.ratio);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${by.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(0) - by).toFixed(1)}" fill="${color}" fill-opacity="0.75"/>`,
        `<text x="${cx}" y="${(by - 6).toFixed(1)}" text-anchor="middle" font-weight="600">${formatRatio(bar.ratio)}</text>`,
      );
    }
    const ty = y(bar.target).toFixed(1);
    out.push(
      // A white halo keeps the dashes readable where they cross the bar.
      `<line x1="${(x - 12).toFixed(1)}" x2="${(x + barW + 12).toFixed(1)}" y1="${ty}" y2="${ty}" stroke="#fff" stroke-width="4"/>`,
      `<line x1="${(x - 12).toFixed(1)}" x2="${(x + barW + 12).toFixed(1)}" y1="${ty}" y2="${ty}" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${(x + barW + 14).toFixed(1)}" y="${ty}" dy="4" fill="#222" font-size="11">target ${formatRatio(bar.target)}</text>`,
      `<text x="${cx}" y="${HEIGHT - MARGIN.bottom + 20}" text-anchor="middle">${escapeXml(bar.label)}</text>`,
      `<text x="${cx}" y="${HEIGHT - MARGIN.bottom + 38}" text-anchor="middle" fill="#555">${escapeXml(bar.sublabel)}</text>`,
    );
  });
  const one = y(1).toFixed(1);
  out.push(
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${one}" y2="${one}" stroke="#888" stroke-width="1"/>`,
    `<text x="${WIDTH - MARGIN.right}" y="${one}" dy="-4" text-anchor="end" fill="#888" font-size="11">baseline 1.00x</text>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#222"/>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
