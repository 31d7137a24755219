/**
 * @module wirekit/cli/commands/request-input
 * What a request command takes besides its items, as httpie does: the body piped on stdin, and
 * `--auth USER[:PASS]` (Basic, or a Bearer token with `--auth-type bearer`), the password asked
 * on the terminal when it is left out.
 */
import { fstatSync } from 'node:fs';
import { basicAuth } from '../../http/basic-auth.js';
import { UsageError } from '../args.js';

/**
 * The bytes piped or redirected to stdin, or undefined when there are none to take: stdin is a
 * terminal, /dev/null (or any other device), closed, or empty. Waits for the end of a pipe, as
 * httpie does (`--ignore-stdin` skips this).
 */
export async function readStdin(): Promise<Buffer | undefined> {
  if (process.stdin.isTTY) return undefined;
  let piped: boolean;
  try {
    const stat = fstatSync(0);
    piped = stat.isFIFO() || stat.isFile() || stat.isSocket();
  } catch {
    return undefined;
  }
  if (!piped) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return body.length === 0 ? undefined : body;
}

/** The Authorization header for `--auth` and `--auth-type` (asking for a missing password). */
export async function authorization(auth: string, type: string | undefined): Promise<string> {
  switch (type ?? 'basic') {
    case 'bearer':
      if (auth === '') throw new UsageError('--auth-type bearer needs the token in --auth');
      return `Bearer ${auth}`;
    case 'basic': {
      const colon = auth.indexOf(':');
      const user = colon === -1 ? auth : auth.slice(0, colon);
      const password = colon === -1 ? await askPassword(`password for ${user}: `) : auth.slice(colon + 1);
      return basicAuth(user, password);
    }
    default:
      throw new UsageError(`--auth-type must be basic or bearer, got '${type}'`);
  }
}

/** Reads a line from the terminal without echoing it; a UsageError when there is no terminal. */
export function askPassword(question: string): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) {
    return Promise.reject(
      new UsageError('--auth USER without :PASSWORD asks for it on a terminal; stdin is not one'),
    );
  }
  // Echo off before the prompt shows: whatever is typed once it is there stays hidden.
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    const onData = (typed: string): void => {
      for (const ch of typed) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new UsageError('no password given'));
          return;
        }
        text = ch === '\u007f' || ch === '\b' ? text.slice(0, -1) : text + ch;
      }
    };
    stdin.on('data', onData);
  });
}
