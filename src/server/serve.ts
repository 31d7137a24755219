/**
 * @module wirekit/server/serve
 * `serve(handler)`: hosts any web-standard fetch handler (a Hono app's `app.fetch`, say) on
 * wirekit's server, with `app.listen()`'s listening, timeouts, TLS, HTTP/2, workers and
 * graceful close.
 */
import * as http from 'node:http';
import { checkSize } from './body.js';
import { drained } from './drain.js';
import { lingerOnClose } from './linger.js';
import { formatHostPort } from '../errors.js';
import { type AppServer, type ListenOptions, serveApp } from './listen.js';
import { HOP_BY_HOP, toWebStream } from './web-stream.js';
import { isWorker, reportToPrimary, runPrimary, workerCount } from './workers.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A web-standard request handler, as Hono, itty-router or a Cloudflare Worker export it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

const TEXT = 'text/plain; charset=utf-8';
const TOO_LARGE = 'Content Too Large\n';

/** Options for {@link serve}: where and how to listen, the body limit, where handler errors go. */
export interface ServeOptions extends ListenOptions {
  /**
   * Most bytes a request body may have, as received (a Content-Encoding is the handler's to
   * undo). A declared Content-Length over it is a 413 before the handler runs; a body that
   * passes it while the handler reads gets a 413 with `Connection: close` (the handler's read
   * fails, and whatever it answers then is dropped). `Infinity` leaves limits to the handler's
   * framework. **Default:** `1_048_576` (1 MiB), as `App`'s `bodyLimit`.
   */
  bodyLimit?: number;
  /**
   * Called with what the handler threw (or a non-Response it returned); the client gets a
   * bare 500. **Default:** one line with the stack on stderr.
   */
  onServerError?: (error: unknown, request: Request) => void;
}

export const serveDefaults = {
  bodyLimit: 1_048_576,
  onServerError: (error: unknown, request: Request) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`wirekit/server: ${request.method} ${request.url} failed: ${detail}\n`);
  },
} satisfies ServeOptions;

/**
 * Serves a web-standard fetch handler (Hono's `app.fetch`, a Worker's `fetch`...) on wirekit's
 * server: the same listen options, timeouts, HTTPS/HTTP/2 and graceful close as `app.listen()`.
 * Each request becomes a web Request (body streamed, `signal` aborted when the client goes
 * away); the Response is streamed back with backpressure. A throw in the handler is a bare 500.
 * Request bodies are held to `bodyLimit` (1 MiB by default; see {@link ServeOptions}).
 *
 * @example
 * import { Hono } from 'hono';
 * const hono = new Hono().get('/', (c) => c.text('Hello Hono!'));
 * const server = await serve(hono.fetch, { port: 3000 });
 */
export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<AppServer> {
  if (typeof handler !== 'function') throw new TypeError('serve() needs a fetch handler function');
  const {
    onServerError = serveDefaults.onServerError,
    bodyLimit = serveDefaults.bodyLimit,
    ...listen
  } = options;
  if (typeof onServerError !== 'function') throw new TypeError('onServerError must be a function');
  const limit = checkSize('bodyLimit', bodyLimit);
  const workers = workerCount(listen.workers ?? 1);
  const scheme = listen.tls ? 'https' : 'http';
  if (workers > 1 && !isWorker()) return runPrimary(workers, scheme);
  const settings: ExchangeSettings = { handler, onServerError, scheme, limit };
  const listener: Listener = (req, res) => void handleExchange(settings, req, res);
  const server = await serveApp(listener, listen, async () => undefined);
  if (workers > 1) reportToPrimary(server);
  return server;
}

/** What every exchange of one `serve()` needs, built once. */
interface ExchangeSettings {
  handler: FetchHandler;
  onServerError: (error: unknown, request: Request) => void;
  scheme: string;
  limit: number;
}

async function handleExchange(
  settings: ExchangeSettings,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const { limit, onServerError } = settings;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    // Refused unread: the connection closes rather than swallow a body nobody will read.
    sendPlain(res, 413, TOO_LARGE, true);
    return;
  }
  let request: Request;
  try {
    request = toWebRequest(req, res, settings.scheme, limit);
  } catch {
    // A Host that is no host, or a method fetch forbids (TRACE, CONNECT): not representable.
    sendPlain(res, 400, 'Bad Request\n');
    return;
  }
  let response: Response;
  try {
    response = await settings.handler(request);
    if (!(response instanceof Response)) {
      throw new TypeError(`the fetch handler returned ${describe(response)}, not a Response`);
    }
  } catch (err) {
    // After a 413 for a body past the limit, the handler's failure to read it is no news.
    if (!res.headersSent) {
      onServerError(err, request);
      sendPlain(res, 500, 'Internal Server Error\n');
    }
    return;
  }
  if (res.headersSent) {
    // The 413 went out while the handler read: what it answered after that has nowhere to go.
    response.body?.cancel().catch(() => undefined);
    return;
  }
  try {
    await writeResponse(req, res, response);
  } catch (err) {
    // Mid-body, the status is gone: cutting the connection is the only honest signal left.
    if (!res.headersSent) sendPlain(res, 500, 'Internal Server Error\n');
    else res.destroy();
    if (!request.signal.aborted) onServerError(err, request);
  }
}

/** Host[:port] with nothing that could move the URL's path or authority (`/`, `@`, `\`...). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

function toWebRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  scheme: string,
  limit: number,
): Request {
  const method = req.method as string;
  const target = req.url as string;
  let url: string;
  if (target.charCodeAt(0) === 47 /* / */) {
    const host = req.headers[':authority'] ?? req.headers.host;
    let authority: string;
    if (typeof host === 'string') authority = host;
    // HTTP/1.0 may leave Host out: the address the client reached stands in.
    else if (host === undefined)
      authority = formatHostPort(req.socket.localAddress ?? '', req.socket.localPort ?? 0);
    else throw new TypeError('more than one Host');
    if (!HOST.test(authority)) throw new TypeError(`bad Host ${authority}`);
    url = `${scheme}://${authority}${target}`;
  } else {
    // Absolute form (what a client sends a proxy): the target names the host itself.
    const absolute = new URL(target);
    if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') throw new TypeError('bad target');
    url = `${scheme}://${absolute.host}${absolute.pathname}${absolute.search}`;
  }
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // HTTP/2 pseudo-headers (:path, :authority...) are in the URL and method already.
    if (name.charCodeAt(0) !== 58 /* : */) headers.append(name, raw[i + 1] as string);
  }
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new DOMException('the client went away', 'AbortError'));
  });
  const init: RequestInit = { method, headers, signal: controller.signal };
  if (method !== 'GET' && method !== 'HEAD' && hasBody(req)) {
    init.body = toWebStream(
      req,
      'drain',
      limit === Infinity
        ? undefined
        : {
            limit,
            exceeded: () => {
              sendPlain(res, 413, TOO_LARGE, true);
              return new RangeError(`the request body is larger than the ${limit}-byte limit`);
            },
          },
    );
    init.duplex = 'half';
  }
  return new Request(url, init);
}

/** Whether the request has a body: HTTP/1 says so in its head; HTTP/2 streams may always carry one. */
function hasBody(req: http.IncomingMessage): boolean {
  if (req.httpVersionMajor >= 2) return true;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

async function writeResponse(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  response: Response,
): Promise<void> {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (req.httpVersionMajor >= 2) for (const name of HOP_BY_HOP) delete headers[name];
  const status = response.status;
  const body = response.body;
  // HTTP/2 has no reason phrase (node warns when given one).
  const reason = req.httpVersionMajor < 2 && response.statusText !== '' ? response.statusText : undefined;
  if (body === null || req.method === 'HEAD') {
    // HEAD keeps the handler's Content-Length (what GET would send) and sends no body.
    if (body !== null) body.cancel().catch(() => undefined);
    else if (status !== 204 && status !== 304 && req.method !== 'HEAD') headers['content-length'] ??= '0';
    res.writeHead(status, reason, headers);
    res.end();
    return;
  }
  const reader = body.getReader();
  // A client that goes away cancels the body, so the handler's stream learns of it at once.
  const onClose = () => {
    if (!res.writableFinished) reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    const first = await reader.read();
    if (res.destroyed) return;
    if (first.done) {
      if (status !== 204 && status !== 304) headers['content-length'] ??= '0';
      res.writeHead(status, reason, headers);
      res.end();
      return;
    }
    // A body that is whole after one chunk (a string, bytes: what most handlers return) goes
    // out in one write with a Content-Length, as respond.ts does. The peek waits only for this
    // turn's microtasks (setImmediate), so a live stream's first chunk is not held back.
    let pending = reader.read();
    const peek = await Promise.race([pending, nextTurn()]);
    if (res.destroyed) return;
    let chunk = chunkOf(first.value);
    if (peek !== undefined && peek.done) {
      if (headers['transfer-encoding'] === undefined) headers['content-length'] ??= String(chunk.byteLength);
      res.writeHead(status, reason, headers);
      res.end(chunk);
      return;
    }
    res.writeHead(status, reason, headers);
    for (;;) {
      if (!res.write(chunk)) await drained(res);
      const { done, value } = await pending;
      if (done || res.destroyed) break;
      chunk = chunkOf(value);
      pending = reader.read();
    }
    if (!res.destroyed) res.end();
  } catch (err) {
    reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    res.off('close', onClose);
  }
}

/** Resolves with `undefined` once this turn of the event loop has run its microtasks. */
function nextTurn(): Promise<undefined> {
  return new Promise((resolve) => setImmediate(resolve, undefined));
}

/** A body chunk, checked: fetch allows only bytes in a Response body. */
function chunkOf(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`a Response body chunk must be a Uint8Array, got ${describe(chunk)}`);
}

function sendPlain(res: http.ServerResponse, status: number, body: string, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const headers: http.OutgoingHttpHeaders = {
    'content-type': TEXT,
    'content-length': Buffer.byteLength(body),
  };
  // HTTP/2 has no Connection header: a stream ends on its own.
  if (close && res.req.httpVersionMajor < 2) {
    headers.connection = 'close';
    lingerOnClose(res.req);
  }
  res.writeHead(status, headers);
  res.end(body);
}

function describe(value: unknown): string {
  return value === null
    ? 'null'
    : typeof value === 'object'
      ? `a ${value.constructor?.name ?? 'object'}`
      : typeof value;
}
