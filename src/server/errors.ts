/**
 * @module wirekit/server/errors
 * `HttpError`: throw it from a handler or middleware to answer with its status. Helpers for the
 * common statuses.
 */
import { STATUS_CODES } from 'node:http';
import { WirekitError } from '../errors.js';

/** Options for {@link HttpError}. */
export interface HttpErrorOptions {
  /**
   * Whether the message may be sent to the client. **Default:** `true` for 4xx, `false` for 5xx
   * (a 5xx answers with the status text only, so internals never leak).
   */
  expose?: boolean;
  /** Headers to send with the error response (e.g. `Allow`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An HTTP error response. Thrown from a handler or middleware, the app answers with `status`
 * and, when `expose` is true, the message (JSON when the client accepts it, else text).
 *
 * @example
 * app.get('/users/:id', (ctx) => {
 *   const user = users.get(ctx.params.id);
 *   if (!user) throw new HttpError(404, `no user ${ctx.params.id}`);
 *   return user;
 * });
 */
export class HttpError extends WirekitError {
  override readonly code = 'WK_ERR_HTTP';
  override name = 'HttpError';
  readonly status: number;
  readonly expose: boolean;
  readonly headers: Record<string, string>;
  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HttpError status must be 400-599, got ${status}`);
    }
    super(message ?? STATUS_CODES[status] ?? `HTTP ${status}`, { cause: options.cause });
    this.status = status;
    this.expose = options.expose ?? status < 500;
    this.headers = options.headers ?? {};
  }
}

/**
 * @internal An HttpError without a stack trace, for the errors the app itself raises on every
 * unrouted request (404, 405, a malformed path): capturing a stack costs more than the rest of
 * the answer, the stack says nothing about the request, and a scanner sends thousands of them.
 */
export function routingError(status: number, message?: string, options?: HttpErrorOptions): HttpError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new HttpError(status, message, options);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

const helper =
  (status: number) =>
  (message?: string, options?: HttpErrorOptions): HttpError =>
    new HttpError(status, message, options);

/** 400 Bad Request. */
export const badRequest = helper(400);
/** 401 Unauthorized. */
export const unauthorized = helper(401);
/** 403 Forbidden. */
export const forbidden = helper(403);
/** 404 Not Found. */
export const notFound = helper(404);
/** 405 Method Not Allowed (pass the `Allow` header in `options.headers`). */
export const methodNotAllowed = helper(405);
/** 409 Conflict. */
export const conflict = helper(409);
/** 413 Content Too Large. */
export const contentTooLarge = helper(413);
/** 415 Unsupported Media Type. */
export const unsupportedMediaType = helper(415);
/** 422 Unprocessable Content. */
export const unprocessable = helper(422);
/** 500 Internal Server Error. */
export const internalError = helper(500);
/** 503 Service Unavailable. */
export const serviceUnavailable = helper(503);
