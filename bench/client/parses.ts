/**
 * The driver of the extractLinks case, shared by its contenders: builds the page (page.ts), runs
 * the contender's `extract` on it for `--warmup` seconds, then for `--duration` seconds between
 * `start` and `end` (each at least once), and reports the page's bytes per second in MB/s
 * (10^6 bytes). The first parse's links must equal the page's, URL by URL and in order; every
 * later one must find as many, the same first and the same last: a wrong answer fails the run.
 *
 * Arguments: --page-bytes, --warmup, --duration (seconds).
 * Events: start, end, result.
 */
import { performance } from 'node:perf_hooks';
import { exitWithRunner, fail, numberArg, report } from '../lib/child.js';
import { buildPage } from './page.js';

/** The links of a page, as the contender's library finds them; each carries its absolute URL. */
export type Extract = (html: string, baseUrl: string) => ReadonlyArray<{ url: string }>;

export async function runParses(extract: Extract): Promise<void> {
  exitWithRunner();
  const page = buildPage(numberArg('page-bytes'));
  const bytes = Buffer.byteLength(page.html);
  const expected = page.urls;

  const first = extract(page.html, page.baseUrl);
  const wrong = first.findIndex((link, i) => link.url !== expected[i]);
  if (wrong !== -1 || first.length !== expected.length) {
    const at = wrong === -1 ? Math.min(first.length, expected.length) : wrong;
    fail(
      `link ${at}: ${first[at]?.url ?? '(none)'}, expected ${expected[at] ?? '(none)'} (${first.length} links, expected ${expected.length})`,
    );
  }
  const check = (links: ReadonlyArray<{ url: string }>): void => {
    if (
      links.length !== expected.length ||
      links[0]?.url !== expected[0] ||
      links.at(-1)?.url !== expected.at(-1)
    ) {
      fail(`a parse found ${links.length} links, expected ${expected.length}`);
    }
  };

  /** Parses for at least `seconds`; returns how many parses and how long they took. */
  const parseFor = (seconds: number): { parses: number; seconds: number } => {
    const from = performance.now();
    let parses = 0;
    let elapsed = 0;
    do {
      check(extract(page.html, page.baseUrl));
      parses++;
      elapsed = (performance.now() - from) / 1000;
    } while (elapsed < seconds);
    return { parses, seconds: elapsed };
  };

  parseFor(numberArg('warmup'));
  report('start');
  const run = parseFor(numberArg('duration'));
  report('end');
  report('result', {
    ok: true,
    value: (run.parses * bytes) / 1e6 / run.seconds,
    detail: { parses: run.parses, seconds: run.seconds, pageBytes: bytes, links: expected.length },
  });
}
