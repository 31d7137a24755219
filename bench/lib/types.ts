/**
 * The shapes an area file (bench/<area>.ts) fills in and the runner consumes. An area is a list
 * of cases; a case is a load generator and the contenders (target processes) it is run against.
 */

/** Options every area receives, parsed from the command line. */
export interface RunOptions {
  /** Measured rounds per case; each round measures every contender once. */
  rounds: number;
  /** Seconds of one duration-based measurement. */
  duration: number;
  /** Seconds of the warm-up run each contender gets before the first round. */
  warmup: number;
  /** Bytes of one bulk transfer, in MiB. */
  bulkMib: number;
  /** Rewrite this area's section of docs/benchmarks.md and its chart. */
  record: boolean;
  /** Start targets under `node --cpu-prof` and keep the profiles in bench/results/profiles. */
  profile: boolean;
}

/** One target process: a server the load generator talks to. */
export interface Contender {
  /** Short name shown in tables: `wirekit`, `node:net`. */
  name: string;
  /** Script under bench/ (a .ts path) that listens on port 0 and reports it (see child.ts). */
  script: string;
  /** The contender every other one is compared with; exactly one per case. */
  baseline?: boolean;
}

/** What the load generator is told for one run. */
export interface LoadContext {
  port: number;
  /** `warmup` runs are not recorded; areas usually make them shorter. */
  phase: 'warmup' | 'measure';
  options: RunOptions;
}

export interface BenchCase {
  /** Stable id, used in file names and doc anchors: `line-echo`. */
  id: string;
  /** Title for tables and the chart. */
  title: string;
  /** One paragraph for the doc: what is sent, what is measured. */
  description: string;
  /** Unit of the load generator's `value`: `round trips/s`, `MiB/s`. Higher is better. */
  unit: string;
  /** Lowest acceptable ratio of each non-baseline contender to the baseline. */
  target: number;
  contenders: Contender[];
  /** The load generator script (a .ts path under bench/) and its arguments for one run. */
  load: (context: LoadContext) => { script: string; args: string[] };
  /** Milliseconds after which one load run is abandoned as failed. */
  timeoutMs: (options: RunOptions) => number;
}

export interface Area {
  /** Name on the command line and in the doc markers: `tcp`. */
  name: string;
  /** Section heading in docs/benchmarks.md. */
  title: string;
  /** Markdown under the heading, kept across re-recordings (method specific to the area). */
  intro: string;
  cases: (options: RunOptions) => BenchCase[];
}

/** CPU use of one process over a measurement window, as a percentage of one core. */
export type CpuPercent = number | null;

/** One measurement of one contender. */
export interface Sample {
  ok: boolean;
  /** In the case's unit; 0 when the run failed. */
  value: number;
  /** Why the run failed, when it did. */
  error?: string;
  loadCpu: CpuPercent;
  targetCpu: CpuPercent;
  /** Whatever else the load generator reported (bytes, elapsed...). */
  detail?: Record<string, unknown>;
}

export interface ContenderResult {
  contender: Contender;
  samples: Sample[];
  /** True when every round succeeded; a contender with one failed round fails the case. */
  ok: boolean;
  median: number;
  min: number;
  max: number;
  loadCpu: CpuPercent;
  targetCpu: CpuPercent;
  /** Median over the baseline's median; null for a failed contender or baseline. */
  ratio: number | null;
  /** Whether `ratio` meets the case target; baselines always pass when they ran. */
  pass: boolean;
  errors: string[];
}

export interface CaseResult {
  benchCase: BenchCase;
  results: ContenderResult[];
}

/** Where and how a run happened, printed and recorded with the numbers. */
export interface RunInfo {
  date: string;
  node: string;
  nproc: number;
  cpuModel: string;
  kernel: string;
  /** `taskset -c 0` / `-c 1`, or why the run was not pinned. */
  pinning: string;
  pinned: boolean;
  command: string;
}
