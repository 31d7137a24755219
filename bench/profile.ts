/**
 * @module bench/profile
 * Summarises a `.cpuprofile` from `npm run bench -- <area> --profile` on the terminal: self
 * time per function and per file, so the hot spots of a target are one command away.
 *
 * Usage: npx tsx bench/profile.ts bench/results/profiles/line-echo-wirekit.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: npx tsx bench/profile.ts FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

// Self time per node: each sample's time delta belongs to the node that was on top.
const selfUs = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  total += delta;
});

function shortUrl(url: string): string {
  const at = url.search(/\/(dist|bench|node_modules)\//);
  return at === -1 ? url.replace(/^file:\/\//, '') : url.slice(at + 1);
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  const url = shortUrl(frame.url) || '(native)';
  const name = `${frame.functionName || '(anonymous)'}  ${url}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byFile.set(url, (byFile.get(url) ?? 0) + us);
}

function print(title: string, entries: Map<string, number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / total).toFixed(1).padStart(6)}%  ${name}\n`);
  }
}

process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
print('self time by function', byFunction);
print('self time by file', byFile);
