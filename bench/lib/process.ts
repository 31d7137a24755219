/**
 * The runner side of the child protocol (see child.ts): start a Node child, optionally pinned to
 * one core, wait for its JSON events, and make sure it is gone when the runner is.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildEvent {
  event: string;
  [key: string]: unknown;
}

/** How children are started: pinned with taskset, and with which extra node flags. */
export interface Launcher {
  /** Null runs unpinned. */
  taskset: string | null;
  cwd: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A running child with its event queue and captured stderr. */
export class BenchProcess {
  readonly pid: number;
  readonly exited: Promise<string>;
  #child: ChildProcess;
  #queue: ChildEvent[] = [];
  #waiter: { names: string[]; resolve: (event: ChildEvent) => void } | null = null;
  #exitReason: string | null = null;
  #stderr = '';

  constructor(argv: string[], launcher: Launcher, core: number) {
    const command = launcher.taskset === null ? argv : [launcher.taskset, '-c', String(core), ...argv];
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: launcher.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.on('error', (err) => {
      this.#stderr += `${err.message}\n`;
    });
    if (child.pid === undefined) throw new Error(`could not start ${command.join(' ')}`);
    // taskset execs the command, so this pid is the Node process itself.
    this.pid = child.pid;
    live.add(child);
    child.stdin?.on('error', () => {});
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderr += text;
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      this.#onLine(line),
    );
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        this.#exitReason = signal === null ? `exit code ${code}` : `signal ${signal}`;
        const waiter = this.#waiter;
        this.#waiter = null;
        waiter?.resolve({ event: 'exit', reason: this.#exitReason });
        resolve(this.#exitReason);
      });
    });
  }

  #onLine(line: string): void {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch {
      this.#stderr += `(stdout) ${line}\n`;
      return;
    }
    const waiter = this.#waiter;
    if (waiter?.names.includes(event.event)) {
      this.#waiter = null;
      waiter.resolve(event);
    } else this.#queue.push(event);
  }

  /** Everything the child wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Null while running; `exit code 1` or `signal SIGKILL` once it has exited. */
  get exitReason(): string | null {
    return this.#exitReason;
  }

  /**
   * The next event named one of `names`. Rejects when the child exits first (with its stderr,
   * which is where a crash explains itself) or after `timeoutMs`.
   */
  async next(names: string[], timeoutMs: number): Promise<ChildEvent> {
    const index = this.#queue.findIndex((e) => names.includes(e.event));
    if (index !== -1) return this.#queue.splice(index, 1)[0] as ChildEvent;
    if (this.#exitReason !== null) throw this.#failure(names);
    let timer: NodeJS.Timeout | undefined;
    const event = await new Promise<ChildEvent>((resolve) => {
      this.#waiter = { names, resolve };
      timer = setTimeout(() => {
        this.#waiter = null;
        resolve({ event: 'timeout' });
      }, timeoutMs);
    });
    clearTimeout(timer);
    if (event.event === 'timeout') {
      throw new Error(`no ${names.join('/')} event within ${Math.round(timeoutMs / 1000)} s`);
    }
    if (event.event === 'exit') throw this.#failure(names);
    return event;
  }

  #failure(names: string[]): Error {
    // A child that gave up says why in a result event; else its stderr explains the crash.
    const said = this.#queue.find((e) => e.event === 'result' && typeof e.error === 'string');
    const why = said ? String(said.error) : this.#stderr.trim().split('\n').slice(-3).join(' | ');
    return new Error(`exited (${this.#exitReason}) before ${names.join('/')}${why ? `: ${why}` : ''}`);
  }

  /** Closes the child's stdin (its signal to exit), then kills it if it has not exited in time. */
  async stop(graceMs = 5_000): Promise<void> {
    this.#child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
    await this.exited;
  }
}
