/**
 * The shapes an area file (bench/<area>.ts) fills in and the runner consumes. An area is a list
 * of cases. A case is either a load generator and the contenders (target processes) it is run
 * against, or, when what is measured is a client, the contenders (client programs, each run
 * afresh every round) and the server they all talk to.
 */

/** Options every area receives, parsed from the command line. */
export interface RunOptions {
  /** Measured rounds per case; each round measures every contender once. */
  rounds: number;
  /** Seconds of one duration-based measurement. */
  duration: number;
  /**
   * Seconds of the warm-up run each contender gets before the first round (in a client case, of
   * the warm-up a duration-based client runs before its measured window, every round).
   */
  warmup: number;
  /** Bytes of one bulk transfer, in MiB. */
  bulkMib: number;
  /** Requests of one request-count measurement (a client case). */
  requests: number;
  /** Idle WebSocket connections a memory measurement opens (the ws area). */
  idleConnections: number;
  /** Clients a WebSocket broadcast reaches (the ws area). */
  broadcastClients: number;
  /** Rewrite this area's section of docs/benchmarks.md and its chart. */
  record: boolean;
  /** Start targets under `node --cpu-prof` and keep the profiles in bench/results/profiles. */
  profile: boolean;
}

/**
 * One contender: a target process (a server the load generator talks to), or in a client case
 * the program measured each round.
 */
export interface Contender {
  /** Short name shown in tables: `wirekit`, `node:net`. */
  name: string;
  /**
   * Script under bench/ (a .ts path) that listens on port 0 and reports it, or in a client case
   * reports start, end and result as a load generator does (see child.ts).
   */
  script: string;
  /** Arguments after the script. */
  args?: string[];
  /** The contender every other one is compared with; exactly one per case. */
  baseline?: boolean;
  /**
   * Lowest acceptable ratio to the baseline; `null` shows the contender for comparison only
   * (its ratio is printed, it passes when its rounds succeed). **Default:** the case's `target`.
   */
  target?: number | null;
  /** Targets against another contender of the same case (see {@link Versus}). */
  versus?: Versus[];
  /**
   * Why this contender is not measured in this case (a reference that cannot serve it, a
   * runtime that is not installed): shown as n/a with the reason, never a failure.
   */
  unavailable?: string;
  /** What the doc shows. **Default:** the `doc` region of `script`, as TypeScript. */
  doc?: { file?: string; region?: string; lang?: string };
}

/** A target of one contender against another of the same case. */
export interface Versus {
  /** The other contender's name. */
  against: string;
  /**
   * `value`: this median over the other's must be at least `ratio` (at most, in a
   * `lowerIsBetter` case). `rss`: this target RSS over the other's must be at most `ratio`.
   */
  metric: 'value' | 'rss';
  ratio: number;
}

/** What the load generator is told for one run. */
export interface LoadContext {
  port: number;
  /** The target's whole `listening` event: its port, and whatever else it reported (a control port). */
  listening: Record<string, unknown>;
  /** `warmup` runs are not recorded; areas usually make them shorter. */
  phase: 'warmup' | 'measure';
  options: RunOptions;
}

/** What a client contender is told for one round, after its own `args`. */
export interface ClientContext {
  /** The case's server's port; null when the case has no server. */
  port: number | null;
  options: RunOptions;
}

/** A script under bench/ (a .ts path) and its arguments. */
export interface Launch {
  script: string;
  args: string[];
}

/** What both shapes of case have. */
interface CaseFields {
  /** Stable id, used in file names and doc anchors: `line-echo`. */
  id: string;
  /** Title for tables and the chart. */
  title: string;
  /** One paragraph for the doc: what is sent, what is measured. */
  description: string;
  /** Unit of the load generator's `value`: `round trips/s`, `MiB/s`. Higher is better... */
  unit: string;
  /**
   * ...unless this is set: the value is a cost (`KiB/connection`), every target is then the
   * highest acceptable ratio, and the CPU saturation notes are left out (nothing is meant to
   * saturate). **Default:** false.
   */
  lowerIsBetter?: boolean;
  /**
   * Lowest acceptable ratio of each non-baseline contender to the baseline (highest, when
   * `lowerIsBetter`), unless the contender sets its own; `null`: no target by default.
   */
  target: number | null;
  contenders: Contender[];
  /** Milliseconds after which one measured run is abandoned as failed. */
  timeoutMs: (options: RunOptions) => number;
  /**
   * Further columns from the load generator's `detail` (numbers), as the median over rounds:
   * `{ label: 'p99 latency', key: 'latencyP99Ms', unit: 'ms', digits: 2 }`.
   */
  columns?: DetailColumn[];
}

/**
 * Contenders are servers: each runs through the whole case on the target core, and a fresh load
 * generator on the load core measures it in each round.
 */
export interface TargetCase extends CaseFields {
  mode?: 'target';
  /** The load generator script and its arguments for one run. */
  load: (context: LoadContext) => Launch;
  /**
   * Start every contender's target afresh for each measurement, with no warm-up, and stop it
   * after: for what a new process shows (its memory), which a previous round would blur.
   * **Default:** false (one target per contender through the case).
   */
  freshTarget?: boolean;
}

/**
 * Contenders are clients: each round starts every contender afresh on the target core, where it
 * warms itself up, then reports start, end and result as a load generator does. They talk to
 * one server the case starts once on the load core (which reports `listening` like a target),
 * or to nothing for work that needs no peer (a parser). In the tables "load" is that server
 * and "target" the client.
 */
export interface ClientCase extends CaseFields {
  mode: 'client';
  server: Launch | null;
  /** Arguments every contender gets after its own `args`. */
  clientArgs: (context: ClientContext) => string[];
}

export type BenchCase = TargetCase | ClientCase;

export interface DetailColumn {
  label: string;
  key: string;
  unit: string;
  /** Fraction digits. **Default:** 0. */
  digits?: number;
}

export interface Area {
  /** Name on the command line and in the doc markers: `tcp`. */
  name: string;
  /** Section heading in docs/benchmarks.md. */
  title: string;
  /** Markdown under the heading, kept across re-recordings (method specific to the area). */
  intro: string;
  /**
   * The run's settings as the doc states them after "Recorded ... with ...", in parentheses.
   * **Default:** rounds, duration, bulk size and warm-up.
   */
  runDescription?: (options: RunOptions) => string;
  cases: (options: RunOptions) => BenchCase[];
}

/** CPU use of one process over a measurement window, as a percentage of one core. */
export type CpuPercent = number | null;

/** One measurement of one contender. In a client case, "load" is the server, "target" the client. */
export interface Sample {
  ok: boolean;
  /** In the case's unit; 0 when the run failed. */
  value: number;
  /** Why the run failed, when it did. */
  error?: string;
  loadCpu: CpuPercent;
  targetCpu: CpuPercent;
  /** Peak resident set size of the target over the measured window, in bytes; null if unknown. */
  targetRss: number | null;
  /** Whatever else the load generator (or client) reported (bytes, elapsed...). */
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
  /** Median over rounds of the target's peak RSS in the window, in bytes. */
  targetRss: number | null;
  /** Median over the baseline's median; null for a failed contender or baseline. */
  ratio: number | null;
  /** Its targets and how they came out: the ratio to the baseline, then any `versus`. */
  checks: Check[];
  /**
   * Whether it ran without a failed round and met every check; baselines pass when they ran,
   * unavailable contenders always pass.
   */
  pass: boolean;
  /** Set when the contender was not measured (its `unavailable` reason). */
  unavailable?: string;
  errors: string[];
}

/** One target of one contender, evaluated. */
export interface Check {
  /** Short form for tables: `≥ 0.95x`, `≥ 1.00x fastify`, `RSS ≤ 1.00x fastify`. */
  label: string;
  /** The measured ratio; null when a side failed. */
  ratio: number | null;
  pass: boolean;
  /**
   * The level this check asks for on the chart's scale (ratio to the baseline), when it has
   * one: the target itself, or the other contender's ratio times the `versus` ratio.
   */
  level: number | null;
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
