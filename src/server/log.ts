/**
 * @module wirekit/server/log
 * Opt-in access log on pino: one JSON line per request with method, path, status, bytes,
 * duration and a request id.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Middleware } from './app.js';

// pino is loaded when an access log is asked for: an app without one does not carry it.
const require = createRequire(import.meta.url);

/** Options for {@link accessLog}. */
export interface AccessLogOptions {
  /** The pino logger to write to. **Default:** a new pino logger on stdout. */
  logger?: Logger;
  /**
   * Take the request id from this request header when the client (or a proxy) sent one, and
   * echo it in the response. **Default:** `'x-request-id'`.
   */
  requestIdHeader?: string;
}

/**
 * A middleware that logs each finished request: `{ method, path, status, bytes, ms, id }`.
 *
 * @example
 * app.use(accessLog());
 */
export function accessLog(options: AccessLogOptions = {}): Middleware {
  const logger = options.logger ?? (require('pino') as typeof import('pino')).pino();
  const header = (options.requestIdHeader ?? 'x-request-id').toLowerCase();
  return (ctx, next) => {
    const started = performance.now();
    const given = ctx.headers[header];
    const id = typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
    ctx.state.requestId = id;
    ctx.set(header, id);
    const socket = ctx.req.socket;
    const before = socket.bytesWritten;
    ctx.res.once('close', () => {
      logger.info(
        {
          method: ctx.method,
          path: ctx.path,
          status: ctx.res.statusCode,
          bytes: socket.bytesWritten - before,
          ms: Math.round((performance.now() - started) * 100) / 100,
          id,
          aborted: !ctx.res.writableFinished || undefined,
        },
        'request',
      );
    });
    return next();
  };
}
