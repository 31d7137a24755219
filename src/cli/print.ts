/**
 * @module wirekit/cli/print
 * Output helpers shared by the commands: colors (only on a TTY, never with NO_COLOR),
 * tables, and exiting once stdout has flushed.
 */
import type { Writable } from 'node:stream';

/** Whether `stream` should get ANSI colors. */
export function useColor(stream: NodeJS.WriteStream | Writable = process.stdout): boolean {
  if ('NO_COLOR' in process.env && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return 'isTTY' in stream && stream.isTTY === true;
}

const codes = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};
export type Style = keyof typeof codes;

/** Wraps `text` in the ANSI codes of `style` when `enabled`. */
export function paint(text: string, style: Style, enabled = useColor()): string {
  if (!enabled) return text;
  const [open, close] = codes[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** Lays rows out in left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Writes `text` to stdout and resolves once it was flushed (so exiting loses nothing). */
export function out(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/**
 * Exits with `code` once stdout and stderr have flushed what was written. The promise never
 * settles, so `await exit(0)` also stops the caller.
 */
export function exit(code: number): Promise<never> {
  return new Promise<never>(() => {
    let pending = 2;
    const done = () => {
      if (--pending === 0) process.exit(code);
    };
    process.stdout.write('', done);
    process.stderr.write('', done);
  });
}
