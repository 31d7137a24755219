/**
 * Children run on plain `node`, not tsx, so a target is exactly what users run (the built
 * package, no loader hooks) and `node --cpu-prof` profiles only its own code. This turns the
 * bench sources into plain JS under bench/results/build/, next to nothing else, keeping the
 * relative imports and the `wirekit/*` self-reference working.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SKIP = new Set(['results', 'node_modules']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Transpiles every .ts file under `benchDir` into `outDir`; returns how to map a script. */
export async function buildChildren(benchDir: string, outDir: string): Promise<(script: string) => string> {
  const ts = (await import('typescript')).default;
  for (const file of sources(benchDir)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const out = join(outDir, relative(benchDir, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  return (script) => join(outDir, script.replace(/\.ts$/, '.js'));
}
