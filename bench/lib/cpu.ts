/**
 * CPU use of another process from /proc/PID/stat (utime + stime, all threads), so the runner
 * can show that the target's core was saturated and the load generator's was not.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** A reading of one process's CPU time at one moment. */
export interface CpuMark {
  /** utime + stime in clock ticks. */
  ticks: number;
  /** performance.now() when read, in milliseconds. */
  at: number;
}

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout;
    const value = Number.parseInt(out ?? '', 10);
    ticksPerSecond = value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/** Null when /proc is not there (not Linux) or the process is gone. */
export function cpuMark(pid: number): CpuMark | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses; fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { ticks: utime + stime, at: performance.now() };
}

/** CPU use between two marks as a percentage of one core (100 = one core saturated). */
export function cpuPercent(from: CpuMark | null, to: CpuMark | null): number | null {
  if (from === null || to === null || to.at <= from.at) return null;
  const seconds = (to.ticks - from.ticks) / clockTicks();
  return (100 * seconds) / ((to.at - from.at) / 1000);
}
