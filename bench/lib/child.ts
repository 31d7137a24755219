/**
 * The child side of the runner protocol, for targets and load generators: one JSON object per
 * stdout line (`{"event":"listening","port":41235}`), and exit when the runner closes stdin.
 * Children import nothing else from the runner, so they stay plain Node programs.
 */

/** Sends one event to the runner. */
export function report(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

/**
 * Exits when the runner closes our stdin: its way of saying "done", and also what happens when
 * the runner dies, so no benchmark process outlives it. Exiting through process.exit (not a
 * signal) lets `--cpu-prof` write its profile.
 */
export function exitWithRunner(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

/** Reads `--name value` from argv as a number; throws when it is missing or not a number. */
export function numberArg(name: string): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? Number.NaN : Number(process.argv[index + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} <number> is required`);
  return value;
}

/** Reads `--name value` from argv; throws when it is missing. */
export function stringArg(name: string): string {
  const index = process.argv.indexOf(`--${name}`);
  const value = index === -1 ? undefined : process.argv[index + 1];
  if (value === undefined) throw new Error(`--${name} <value> is required`);
  return value;
}

/** Ends the process with a result event that says why the run failed. */
export function fail(message: string): never {
  report('result', { ok: false, error: message });
  process.exit(1);
}
