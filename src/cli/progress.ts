/**
 * @module wirekit/cli/progress
 * The download progress bar `wirekit get -d` draws on stderr (a terminal only), and the byte and
 * rate formatting it shares with the summary line.
 */
import type { DownloadProgress } from '../client/download.js';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** `1234567` -> `1.2 MB` (powers of 1000, as httpie and curl print sizes). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * One line of progress, `width` columns at most:
 * ` 45% [=========>           ] 1.2 MB / 2.6 MB  3.1 MB/s`, or without a total
 * `1.2 MB  3.1 MB/s`.
 */
export function renderProgress(p: DownloadProgress, elapsedMs: number, width = 80): string {
  const rate = elapsedMs > 0 ? `${formatBytes(Math.round((p.transferred / elapsedMs) * 1000))}/s` : '';
  if (p.total === undefined || p.percent === undefined)
    return `${formatBytes(p.transferred)}  ${rate}`.trimEnd();
  const percent = Math.min(100, Math.floor(p.percent));
  const text = ` ${formatBytes(p.transferred)} / ${formatBytes(p.total)}  ${rate}`;
  const bar = Math.max(10, Math.min(40, width - text.length - 8));
  const done = Math.round((bar * percent) / 100);
  const arrow = done >= bar ? '='.repeat(bar) : `${'='.repeat(done)}>${' '.repeat(bar - done - 1)}`;
  return `${String(percent).padStart(3)}% [${arrow}]${text}`.trimEnd();
}

/** Redraws the progress line on a TTY stream; does nothing on anything else. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #drawn = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = stream.isTTY === true;
  }

  /** Draws `p` over the previous line. */
  update(p: DownloadProgress): void {
    if (!this.#enabled) return;
    const line = renderProgress(p, performance.now() - this.#started, this.#stream.columns ?? 80);
    this.#stream.write(`\r${line}\u001b[K`);
    this.#drawn = true;
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  end(): void {
    if (this.#drawn) this.#stream.write('\n');
    this.#drawn = false;
  }

  /** Milliseconds since the bar was made. */
  get elapsed(): number {
    return performance.now() - this.#started;
  }
}
