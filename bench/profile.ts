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
  children?: number[];
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
const IDLE = new Set(['(idle)', '(program)']);
let idle = 0;
for (const [id, us] of selfUs) {
  if (IDLE.has((byId.get(id) as ProfileNode).callFrame.functionName)) idle += us;
}
const busy = Math.max(1, total - idle);

function shortUrl(url: string): string {
  const at = url.search(/\/(dist|bench|node_modules)\//);
  return at === -1 ? url.replace(/^file:\/\//, '') : url.slice(at + 1);
}

function nameOf(frame: ProfileNode['callFrame']): string {
  const url = shortUrl(frame.url) || '(native)';
  return `${frame.functionName || '(anonymous)'}  ${url}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = (byId.get(id) as ProfileNode).callFrame;
  if (IDLE.has(frame.functionName)) continue;
  const name = nameOf(frame);
  const url = shortUrl(frame.url) || '(native)';
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byFile.set(url, (byFile.get(url) ?? 0) + us);
}

// Inclusive time: a node's self time plus its subtree's, counted once per function and stack
// (a recursive function is not counted twice).
const inclusive = new Map<string, number>();
function walk(id: number, onStack: Set<string>): number {
  const node = byId.get(id) as ProfileNode;
  let sum = selfUs.get(id) ?? 0;
  const name = nameOf(node.callFrame);
  const fresh = !onStack.has(name);
  if (fresh) onStack.add(name);
  for (const child of node.children ?? []) sum += walk(child, onStack);
  if (fresh) {
    onStack.delete(name);
    if (!IDLE.has(node.callFrame.functionName) && node.callFrame.functionName !== '(root)') {
      inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
    }
  }
  return sum;
}
const childIds = new Set(profile.nodes.flatMap((n) => n.children ?? []));
for (const root of profile.nodes.filter((n) => !childIds.has(n.id))) walk(root.id, new Set());

function print(title: string, entries: Map<string, number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${name}\n`);
  }
}

process.stdout.write(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages are of busy time)\n`,
);
print('self time by function', byFunction);
print('total time by function (self + callees)', inclusive);
print('self time by file', byFile);
