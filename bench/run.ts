/**
 * @module bench/run
 * The benchmark runner: `npm run bench -- [AREA...] [--rounds N] [--duration S] [--record]`.
 * An area is one file, bench/<area>.ts, registered in `areas` below.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunArgs, usage } from './lib/args.js';
import { buildChildren } from './lib/compile.js';
import { describeMachine } from './lib/machine.js';
import { renderSection, writeSection } from './lib/markdown.js';
import { measureCase } from './lib/measure.js';
import { printCase } from './lib/report.js';
import { renderChart } from './lib/svg.js';
import type { Area, CaseResult, Contender } from './lib/types.js';
import client from './client.js';
import server from './server.js';
import tcp from './tcp.js';
import ws from './ws.js';

const areas: Area[] = [tcp, server, client, ws];

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const resultsDir = join(benchDir, 'results');
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Children import the built package, so a stale dist/ would measure old code. */
function staleBuild(): string | null {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  if (!existsSync(join(root, 'dist', 'net', 'index.js'))) return 'dist/ is missing';
  for (const source of walk(join(root, 'src'))) {
    const built = join(root, 'dist', relative(join(root, 'src'), source)).replace(/\.ts$/, '.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs) {
      return `${relative(root, built)} is older than ${relative(root, source)}`;
    }
  }
  return null;
}

/** The case with only the contenders in `only` beside its baseline (all of them when it is empty). */
function narrow<C extends { contenders: Contender[] }>(c: C, only: string[]): C {
  if (only.length === 0) return c;
  return { ...c, contenders: c.contenders.filter((k) => k.baseline === true || only.includes(k.name)) };
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (parsed.help) {
    log(usage);
    return 0;
  }
  const { options } = parsed;
  const unknown = parsed.areas.filter((name) => !areas.some((a) => a.name === name));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown area: ${unknown.join(', ')} (known: ${areas.map((a) => a.name).join(', ')})\n`,
    );
    return 2;
  }
  if (options.record && parsed.only.length > 0) {
    process.stderr.write('--record and --only do not mix: a record shows every contender\n');
    return 2;
  }
  if (options.record && options.profile) {
    process.stderr.write('--record and --profile do not mix: a profiled target is slower\n');
    return 2;
  }
  const stale = staleBuild();
  if (stale?.startsWith('dist/ is missing')) {
    process.stderr.write('dist/ is missing: run `npm run build` first\n');
    return 1;
  }
  if (stale !== null) log(`warning: ${stale}; run \`npm run build\` to measure the current source`);

  const info = describeMachine(`npm run bench -- ${argv.join(' ')}`.trim());
  log(`wirekit benchmarks, ${info.date}: Node ${info.node}, ${info.nproc} cores, ${info.cpuModel}`);
  log(info.pinned ? `pinning: ${info.pinning}` : `WARNING: ${info.pinning}; numbers are less reliable`);
  if (options.profile)
    log(`profiling: targets write .cpuprofile files to ${relative(root, join(resultsDir, 'profiles'))}/`);

  const resolveScript = await buildChildren(benchDir, join(resultsDir, 'build'));
  const ctx = {
    launcher: { taskset: info.taskset, cwd: root },
    options,
    resolveScript,
    profileDir: join(resultsDir, 'profiles'),
    log,
  };
  let allPass = true;
  const selected = parsed.areas.length > 0 ? areas.filter((a) => parsed.areas.includes(a.name)) : areas;
  for (const area of selected) {
    const results: CaseResult[] = [];
    const cases = area
      .cases(options)
      .filter((c) => parsed.cases.length === 0 || parsed.cases.includes(c.id))
      .map((c) => narrow(c, parsed.only));
    for (const benchCase of cases) {
      log(`\n[${area.name}] ${benchCase.title}`);
      const result = await measureCase(benchCase, ctx);
      printCase(result, log);
      results.push(result);
      allPass &&= result.results.every((r) => r.pass);
    }
    mkdirSync(resultsDir, { recursive: true });
    const stamp = info.date.replace(/[^0-9]/g, '').slice(0, 12);
    const raw = join(resultsDir, `${area.name}-${stamp}.json`);
    writeFileSync(raw, `${JSON.stringify({ info, options, results }, null, 2)}\n`);
    log(`raw samples: ${relative(root, raw)}`);
    if (options.record) {
      const chart = `benchmarks-${area.name}.svg`;
      writeFileSync(join(root, 'docs', chart), renderChart(area.title, results));
      writeSection(
        join(root, 'docs', 'benchmarks.md'),
        area.name,
        renderSection(area, results, info, options, benchDir, chart),
      );
      log(`recorded: docs/benchmarks.md (${area.name} section), docs/${chart}`);
    }
  }
  log(allPass ? 'all targets met' : 'some targets were missed or a contender failed');
  return allPass ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
