/**
 * @module wirekit/demo/rules
 * What the chat accepts from its users, WebSocket and TCP alike: names, message text, and how
 * fast they may talk. Every check throws a {@link ChatError} whose `code` the page and the TCP
 * lines report.
 */

/** Limits of the chat room; each one is documented in docs/demo.md. */
export const chatLimits = {
  /** Longest name, in characters (code points). */
  maxName: 24,
  /** Longest message, in characters (code points). */
  maxText: 2_000,
  /** Messages kept for newcomers and `/api/history`. */
  history: 100,
  /** Messages a user may send at once (the bucket's size). */
  burst: 10,
  /** Messages per second a user may keep sending. */
  perSecond: 2,
  /** Messages refused in a row, for sending too fast, before the user is disconnected. */
  maxRefused: 30,
};

export type ChatErrorCode =
  'bad-name' | 'name-taken' | 'bad-text' | 'too-long' | 'bad-message' | 'not-joined' | 'too-fast';

/** A request the room refuses; the connection stays open. */
export class ChatError extends Error {
  override name = 'ChatError';
  constructor(
    readonly code: ChatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// Controls, format characters (bidi overrides, zero-width ones), surrogates, private use,
// unassigned: nothing a reader could tell apart or that could rewrite a terminal line.
const NAME_FORBIDDEN = /\p{C}|[^\S ]| {2}/u;
// Message text keeps emoji sequences (ZWJ is a format character) but refuses controls, which
// would break a TCP user's line (newline) or drive their terminal (ESC), and bidi overrides.
const TEXT_FORBIDDEN = /[\p{Cc}\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\p{Cs}\p{Co}]/u;

function codePoints(text: string, stopAfter: number): number {
  let count = 0;
  for (const _ of text) if (++count > stopAfter) break;
  return count;
}

/** A valid name, trimmed: 1 to 24 characters, single spaces, no control or format characters. */
export function checkName(value: unknown): string {
  if (typeof value !== 'string') throw new ChatError('bad-name', 'a name must be a string');
  const name = value.trim();
  if (name === '') throw new ChatError('bad-name', 'a name cannot be empty');
  if (codePoints(name, chatLimits.maxName) > chatLimits.maxName)
    throw new ChatError('bad-name', `a name is at most ${chatLimits.maxName} characters`);
  if (NAME_FORBIDDEN.test(name))
    throw new ChatError('bad-name', 'a name cannot hold control characters or runs of spaces');
  return name;
}

/** A valid message: tabs become spaces, then 1 to 2,000 characters, no control characters. */
export function checkText(value: unknown): string {
  if (typeof value !== 'string') throw new ChatError('bad-text', 'a message must be a string');
  const text = value.replaceAll('\t', ' ').trim();
  if (text === '') throw new ChatError('bad-text', 'a message cannot be empty');
  if (codePoints(text, chatLimits.maxText) > chatLimits.maxText)
    throw new ChatError('too-long', `a message is at most ${chatLimits.maxText} characters`);
  if (TEXT_FORBIDDEN.test(text)) throw new ChatError('bad-text', 'a message cannot hold control characters');
  return text;
}

/**
 * A token bucket per user: `burst` messages at once, then `perSecond`. `take()` says whether
 * one more message may go; `refused` counts the refusals since the last message that went.
 */
export class RateLimit {
  #tokens: number;
  #at: number;
  refused = 0;

  constructor(
    readonly burst = chatLimits.burst,
    readonly perSecond = chatLimits.perSecond,
    readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  take(): boolean {
    const now = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.refused = 0;
      return true;
    }
    this.refused++;
    return false;
  }
}
