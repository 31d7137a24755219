/**
 * CPU use of another process from /proc/PID/stat (utime + stime, all threads, plus cutime +
 * cstime: the children it has waited for), so the runner can show that the target's core was
 * saturated and the load generator's was not. Counting reaped children lets a load generator
 * that runs another program (wrk) be measured through its own pid: the program's whole CPU time
 * lands in its parent's counters when it exits.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** A reading of one process's CPU time at one moment. */
export interface CpuMark {
  /** utime + stime + cutime + cstime in clock ticks. */
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
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  if (!Number.isFinite(ticks)) return null;
  return { ticks, at: performance.now() };
}

/** Resident set size of a process in bytes (VmRSS), or null when it cannot be read. */
export function rssBytes(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : null;
}

/**
 * Samples a process's RSS every `intervalMs` until stopped; `stop()` gives the peak. One small
 * /proc read per interval keeps the runner all but idle while a measurement runs.
 */
export function sampleRss(pid: number, intervalMs = 250): { stop: () => number | null } {
  let peak: number | null = rssBytes(pid);
  const take = () => {
    const rss = rssBytes(pid);
    if (rss !== null && (peak === null || rss > peak)) peak = rss;
  };
  const timer = setInterval(take, intervalMs);
  let stopped = false;
  return {
    /** Takes a last sample and stops; later calls give the same peak. */
    stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
        take();
      }
      return peak;
    },
  };
}

/** CPU use between two marks as a percentage of one core (100 = one core saturated). */
export function cpuPercent(from: CpuMark | null, to: CpuMark | null): number | null {
  if (from === null || to === null || to.at <= from.at) return null;
  const seconds = (to.ticks - from.ticks) / clockTicks();
  return (100 * seconds) / ((to.at - from.at) / 1000);
}
