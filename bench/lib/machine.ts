/** Where a run happens: Node version, cores, CPU model, and whether taskset can pin. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release } from 'node:os';
import type { RunInfo } from './types.js';

/** Core of the load generator and of the target (the runner itself is left unpinned). */
export const LOAD_CORE = 0;
export const TARGET_CORE = 1;

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) return match[1].trim();
  } catch {
    // Not Linux: os.cpus() below still knows the model.
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** `taskset` when it works here and there are two cores to pin to, else why not. */
function pinning(nproc: number): { taskset: string | null; description: string } {
  if (nproc < 2) return { taskset: null, description: `unpinned: only ${nproc} core` };
  const probe = spawnSync('taskset', ['-c', String(TARGET_CORE), 'true'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) {
    return { taskset: null, description: 'unpinned: taskset is missing (apt-get install util-linux)' };
  }
  return {
    taskset: 'taskset',
    description: `load on core ${LOAD_CORE} (taskset -c ${LOAD_CORE}), target on core ${TARGET_CORE} (taskset -c ${TARGET_CORE})`,
  };
}

export function describeMachine(command: string): RunInfo & { taskset: string | null } {
  const nproc = availableParallelism();
  const pin = pinning(nproc);
  return {
    date: `${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
    node: process.version,
    nproc,
    cpuModel: cpuModel(),
    kernel: `Linux ${release()}`,
    pinning: pin.description,
    pinned: pin.taskset !== null,
    taskset: pin.taskset,
    command,
  };
}
