/**
 * @module wirekit/server/sse
 * Server-Sent Events: an async iterable of events written as `text/event-stream`, with a
 * heartbeat comment so proxies keep the connection, stopped when the client goes away.
 */
import type { Context } from './context.js';
import { drained } from './drain.js';

/** One event. A string or any other value is sent as `data` (non-strings as JSON). */
export interface SseEvent {
  data: unknown;
  event?: string;
  id?: string;
  /** Reconnection delay the client should use, in milliseconds. */
  retry?: number;
}

/** Options for `ctx.sse()`. */
export interface SseOptions {
  /** Milliseconds between `: heartbeat` comments; 0 = none. **Default:** `15_000`. */
  heartbeat?: number;
}

/** An event stream, from `ctx.sse()`; return it from the handler. */
export class SseResult {
  constructor(
    readonly source: AsyncIterable<unknown>,
    readonly options: SseOptions,
  ) {}
}

const NEWLINES = /\r\n|\r|\n/;

/** One event in the wire format; fields with a line break are split so none can inject a field. */
export function formatEvent(value: unknown): string {
  const event: SseEvent =
    typeof value === 'object' && value !== null && 'data' in value ? (value as SseEvent) : { data: value };
  let out = '';
  if (event.event !== undefined) out += `event: ${event.event.split(NEWLINES)[0]}\n`;
  if (event.id !== undefined) out += `id: ${event.id.split(NEWLINES)[0]}\n`;
  if (event.retry !== undefined && Number.isInteger(event.retry)) out += `retry: ${event.retry}\n`;
  const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
  for (const line of (data ?? '').split(NEWLINES)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Streams `result` as the response of `ctx` until the source ends or the client leaves. */
export async function sendSse(
  ctx: Context,
  result: SseResult,
  headers: Record<string, unknown>,
): Promise<void> {
  const res = ctx.res;
  res.writeHead(ctx.status || 200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // nginx would otherwise buffer the stream and deliver events late.
    'x-accel-buffering': 'no',
  });
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  const { heartbeat = 15_000 } = result.options;
  const timer = heartbeat > 0 ? setInterval(() => res.write(': heartbeat\n\n'), heartbeat) : undefined;
  const iterator = result.source[Symbol.asyncIterator]();
  // A client that leaves stops the source, even one waiting for its next event.
  const onClose = () => void iterator.return?.();
  res.once('close', onClose);
  try {
    for (;;) {
      const { value, done } = await iterator.next();
      if (done || res.destroyed) break;
      if (!res.write(formatEvent(value))) await drained(res);
    }
  } catch (err) {
    // A source that fails because its client left (an aborted ctx.signal) is not an error.
    if (!res.destroyed) throw err;
  } finally {
    clearInterval(timer);
    res.off('close', onClose);
    if (!res.destroyed) res.end();
  }
}
