/**
 * @module wirekit/server/respond
 * Turns what a handler returned into the response: one writeHead with one headers object, and
 * Content-Length whenever the size is known, so nothing goes chunked without need.
 */
import { type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Context } from './context.js';
import { HttpError } from './errors.js';
import { lingerOnClose } from './linger.js';
import { chooseEncoding, compressBody, compressStream } from './compress.js';
import { sendFile, type SendFileOptions } from './send-file.js';
import { SseResult, sendSse } from './sse.js';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const BINARY = 'application/octet-stream';

/** A redirect, from `ctx.redirect()`. */
export class Redirect {
  constructor(
    readonly location: string,
    readonly status: number,
  ) {
    if (/[\r\n]/.test(location)) throw new TypeError('a redirect location must not contain CR or LF');
  }
}

/** A file to send, from `ctx.file()`. */
export class FileResult {
  constructor(
    readonly path: string,
    readonly options: SendFileOptions,
  ) {}
}

/** The headers for this response: what the handler set, plus its cookies. */
function headersOf(ctx: Context): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = ctx.responseHeaders ?? {};
  const cookies = ctx.hasCookies ? ctx.cookies.outgoing : undefined;
  if (cookies !== undefined && cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = existing === undefined ? cookies : [...[existing].flat().map(String), ...cookies];
  }
  return headers;
}

function sendBuffered(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  type: string,
  body: string | Uint8Array,
  ctx?: Context,
): void | Promise<void> {
  headers['content-type'] ??= type;
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  const compression = ctx?.compression;
  if (
    compression !== undefined &&
    length >= compression.threshold &&
    headers['content-encoding'] === undefined
  ) {
    const encoding = chooseEncoding(
      compression,
      ctx?.req.headers['accept-encoding'],
      String(headers['content-type']),
    );
    if (encoding !== undefined) return sendCompressed(res, status, headers, encoding, body);
  }
  headers['content-length'] = length;
  res.writeHead(status, headers);
  res.end(body);
}

async function sendCompressed(
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  encoding: 'br' | 'gzip',
  body: string | Uint8Array,
): Promise<void> {
  const compressed = await compressBody(
    encoding,
    typeof body === 'string' ? Buffer.from(body) : Buffer.from(body),
  );
  headers['content-encoding'] = encoding;
  headers.vary = headers.vary === undefined ? 'Accept-Encoding' : `${String(headers.vary)}, Accept-Encoding`;
  headers['content-length'] = compressed.length;
  if (res.destroyed) return;
  res.writeHead(status, headers);
  res.end(compressed);
}

function isReadable(value: object): value is Readable {
  return typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function';
}

/**
 * Writes `value` as the response of `ctx`. Strings are text/plain, objects and arrays JSON,
 * bytes application/octet-stream; a web Response, a Node Readable or an async iterable is
 * streamed; `undefined` is 204 (or the status set, with an empty body).
 */
export function respond(ctx: Context, value: unknown): void | Promise<void> {
  const res = ctx.res;
  // A handler that wrote the response itself (or a client already gone) leaves nothing to do.
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const status = ctx.status || 200;
  if (typeof value === 'string') return sendBuffered(res, status, headersOf(ctx), TEXT, value, ctx);
  if (value === undefined || value === null) {
    const headers = headersOf(ctx);
    const empty = ctx.status === 0 ? 204 : ctx.status;
    if (empty !== 204 && empty !== 304) headers['content-length'] = 0;
    res.writeHead(empty, headers);
    res.end();
    return;
  }
  if (typeof value !== 'object')
    return sendBuffered(res, status, headersOf(ctx), JSON_TYPE, JSON.stringify(value), ctx);
  // Plain objects and arrays, what JSON APIs return, skip the checks for the other kinds (and
  // never touch the global Response, whose first use loads node's fetch implementation). An
  // object literal that is an async iterable still streams.
  const proto: unknown = Object.getPrototypeOf(value);
  if (
    Array.isArray(value) ||
    ((proto === Object.prototype || proto === null) && !(Symbol.asyncIterator in value))
  )
    return sendBuffered(res, status, headersOf(ctx), JSON_TYPE, JSON.stringify(value), ctx);
  if (value instanceof Uint8Array) return sendBuffered(res, status, headersOf(ctx), BINARY, value, ctx);
  if (value instanceof Redirect) {
    const headers = headersOf(ctx);
    headers.location = value.location;
    return sendBuffered(res, value.status, headers, TEXT, `Redirecting to ${value.location}\n`);
  }
  if (value instanceof FileResult) {
    const headers = headersOf(ctx) as Record<string, string>;
    return sendFile(ctx.req, res, value.path, {
      ...value.options,
      headers: { ...headers, ...value.options.headers },
    });
  }
  if (value instanceof Response) return sendWebResponse(ctx, value);
  if (value instanceof SseResult) return sendSse(ctx, value, headersOf(ctx));
  if (isReadable(value) || Symbol.asyncIterator in value) {
    const headers = headersOf(ctx);
    headers['content-type'] ??= BINARY;
    return sendStream(
      ctx,
      status,
      headers,
      isReadable(value) ? value : Readable.from(value as AsyncIterable<unknown>),
    );
  }
  return sendBuffered(res, status, headersOf(ctx), JSON_TYPE, JSON.stringify(value), ctx);
}

async function sendStream(
  ctx: Context,
  status: number,
  headers: OutgoingHttpHeaders,
  stream: Readable,
): Promise<void> {
  const compression = ctx.compression;
  const encoding =
    compression !== undefined &&
    headers['content-encoding'] === undefined &&
    headers['content-length'] === undefined
      ? chooseEncoding(compression, ctx.req.headers['accept-encoding'], String(headers['content-type']))
      : undefined;
  if (encoding !== undefined) {
    headers['content-encoding'] = encoding;
    headers.vary =
      headers.vary === undefined ? 'Accept-Encoding' : `${String(headers.vary)}, Accept-Encoding`;
  }
  ctx.res.writeHead(status, headers);
  if (ctx.method === 'HEAD') {
    stream.destroy();
    ctx.res.end();
    return;
  }
  // A client that goes away ends the pipeline with an error; the stream is destroyed either way.
  if (encoding === undefined) await pipeline(stream, ctx.res).catch(() => undefined);
  else await pipeline(stream, compressStream(encoding), ctx.res).catch(() => undefined);
}

async function sendWebResponse(ctx: Context, response: Response): Promise<void> {
  const headers = headersOf(ctx);
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0)
    headers['set-cookie'] = [...[headers['set-cookie'] ?? []].flat().map(String), ...cookies];
  if (response.body === null) {
    if (response.status !== 204 && response.status !== 304) headers['content-length'] ??= 0;
    ctx.res.writeHead(response.status, headers);
    ctx.res.end();
    return;
  }
  await sendStream(ctx, response.status, headers, Readable.fromWeb(response.body as WebReadableStream));
}

/** Whether the client prefers JSON (for error bodies). */
function wantsJson(ctx: Context): boolean {
  const accept = ctx.req.headers.accept;
  return accept !== undefined && accept.includes('json');
}

/**
 * Answers with an error: an HttpError's status, headers and (when exposed) message; any other
 * error is a 500 whose body says only "Internal Server Error".
 */
export function respondError(ctx: Context, err: unknown): void {
  const res = ctx.res;
  if (res.headersSent) {
    // Mid-stream: the status is gone; cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  const http = err instanceof HttpError ? err : new HttpError(500);
  const message = http.expose ? http.message : (STATUS_CODES[http.status] ?? 'Error');
  // Headers middleware set (a request id, CORS) stay; the body's own headers are the error's.
  const headers: OutgoingHttpHeaders = { ...headersOf(ctx), ...http.headers };
  delete headers['content-length'];
  delete headers['content-type'];
  delete headers['content-encoding'];
  if (headers.connection === 'close') {
    // HTTP/2 has no Connection header (node would warn and drop it): a stream ends on its own.
    if (ctx.req.httpVersionMajor >= 2) delete headers.connection;
    else lingerOnClose(ctx.req);
  }
  if (wantsJson(ctx)) {
    sendBuffered(
      res,
      http.status,
      headers,
      JSON_TYPE,
      JSON.stringify({ error: message, status: http.status }),
    );
  } else sendBuffered(res, http.status, headers, TEXT, `${message}\n`);
}
