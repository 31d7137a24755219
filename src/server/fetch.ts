/**
 * @module wirekit/server/fetch
 * Web-standard interop: `app.fetch(request)` runs an App on a web Request without a socket, and
 * `serve(handler)` hosts any fetch handler (a Hono app's `app.fetch`, say) on wirekit's server.
 */
import { drained } from './drain.js';
import * as http from 'node:http';
import { Duplex, Readable } from 'node:stream';
import { formatHostPort } from '../errors.js';
import { type AppServer, type ListenOptions, serveApp } from './listen.js';
import { isWorker, reportToPrimary, runPrimary, workerCount } from './workers.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A web-standard request handler, as Hono, itty-router or a Cloudflare Worker export it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Options for {@link serve}: where and how to listen, and where handler errors go. */
export interface ServeOptions extends ListenOptions {
  /**
   * Called with what the handler threw (or a non-Response it returned); the client gets a
   * bare 500. **Default:** one line with the stack on stderr.
   */
  onServerError?: (error: unknown, request: Request) => void;
}

export const serveDefaults = {
  onServerError: (error: unknown, request: Request) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`wirekit/server: ${request.method} ${request.url} failed: ${detail}\n`);
  },
} satisfies ServeOptions;

/** Connection-level headers: they describe one hop, not the message, and HTTP/2 forbids them. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const TEXT = 'text/plain; charset=utf-8';

// ---- app.fetch: a web Request through the App's own node:http pipeline ---------------------------

/**
 * One in-memory end of a socket pair: what one end writes, the other reads. A write waits
 * until the reader wants more (backpressure), `end()` is the peer's EOF, and destroying either
 * end destroys both, as a reset would.
 */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;
  /** The peer's write waiting for this end's reader to want more. */
  #pending: ((error?: Error | null) => void) | undefined;

  override _read(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer as PipeEnd;
    if (peer.destroyed) callback();
    else if (peer.push(chunk)) callback();
    else peer.#pending = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.();
    if (this.peer !== undefined && !this.peer.destroyed) this.peer.destroy();
    callback(error);
  }

  // What node:http calls on a net.Socket; timeouts and Nagle mean nothing in memory.
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

/** One never-listening http.Server per app: the parser and ServerResponse of real requests. */
const servers = new WeakMap<Listener, http.Server>();

/**
 * Runs `request` through `listener` as if it came over a connection, and resolves with the
 * response once its head is in (the body streams as the app writes it).
 *
 * Design: the request really is HTTP/1.1, carried over an in-memory socket pair (PipeEnd) and
 * not loopback TCP. The server end goes to an http.Server with `emit('connection')`, and the
 * client end to `http.request({ createConnection })` — both documented ways to give node:http
 * any Duplex. So the app gets a genuine IncomingMessage and ServerResponse from llhttp: body
 * readers, limits, HEAD, chunking, Set-Cookie and errors behave exactly as on the network, and
 * `app.handle` carries no branch for this path. The cost (an HTTP/1.1 encode and parse each
 * way) is paid only by `app.fetch` callers. Faking IncomingMessage/ServerResponse instead
 * would mean re-parsing ServerResponse's private header buffer or overriding its internals.
 */
export function fetchListener(listener: Listener, request: Request): Promise<Response> {
  if (!(request instanceof Request)) {
    return Promise.reject(new TypeError('app.fetch() takes a web Request'));
  }
  if (request.signal.aborted) return Promise.reject(request.signal.reason);
  let server = servers.get(listener);
  if (server === undefined) {
    server = http.createServer(listener);
    servers.set(listener, server);
  }
  const url = new URL(request.url);
  const headers: http.OutgoingHttpHeaders = { host: url.host };
  for (const [name, value] of request.headers) headers[name] = value;
  const serverEnd = new PipeEnd();
  const clientEnd = new PipeEnd();
  serverEnd.peer = clientEnd;
  clientEnd.peer = serverEnd;
  server.emit('connection', serverEnd);
  const method = request.method;
  return new Promise<Response>((resolve, reject) => {
    let outgoing: http.ClientRequest;
    try {
      outgoing = http.request({
        method,
        path: url.pathname + url.search,
        headers,
        createConnection: () => clientEnd as never,
      });
    } catch (err) {
      clientEnd.destroy();
      throw err;
    }
    let response: http.IncomingMessage | undefined;
    // After the head, an abort errors the body stream (fetch's rule) rather than ending it short.
    const onAbort = () => {
      const reason = request.signal.reason as Error;
      response?.destroy(reason);
      outgoing.destroy(reason);
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    clientEnd.once('close', () => request.signal.removeEventListener('abort', onAbort));
    outgoing.on('error', reject);
    outgoing.once('response', (incoming: http.IncomingMessage) => {
      response = incoming;
      try {
        resolve(toWebResponse(incoming, method));
      } catch (err) {
        incoming.destroy();
        reject(err);
      }
    });
    if (request.body === null) outgoing.end();
    else void sendBody(request.body, outgoing, serverEnd);
  });
}

/**
 * Writes a Request body to `outgoing` with backpressure. It stops, without ending the request,
 * once the server closed its end: an app that answered early (a 413) never reads the rest,
 * and the rest may be endless. A body that fails mid-way resets the exchange, as an upload
 * that breaks off would.
 */
async function sendBody(
  body: ReadableStream<Uint8Array>,
  outgoing: http.ClientRequest,
  serverEnd: PipeEnd,
): Promise<void> {
  const reader = body.getReader();
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    reader.cancel().catch(() => undefined);
    wake?.();
  };
  serverEnd.once('finish', stop);
  serverEnd.once('close', stop);
  outgoing.once('close', stop);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || stopped) break;
      if (!outgoing.write(value)) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          outgoing.once('drain', resolve);
        });
        outgoing.off('drain', wake as () => void);
        wake = undefined;
      }
    }
    if (!stopped) outgoing.end();
  } catch (err) {
    if (!stopped) outgoing.destroy(err as Error);
  } finally {
    serverEnd.off('finish', stop);
    serverEnd.off('close', stop);
    outgoing.off('close', stop);
  }
}

/** The web Response for a node:http client response; the body streams from `incoming`. */
function toWebResponse(incoming: http.IncomingMessage, method: string): Response {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // The pair's Connection: close and the chunked framing belong to the in-memory hop.
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, raw[i + 1] as string);
  }
  const status = incoming.statusCode as number;
  // An aborted exchange is an error on the body stream; without a listener it would be thrown.
  incoming.on('error', () => undefined);
  const empty = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (empty) incoming.resume();
  return new Response(empty ? null : toWebStream(incoming, 'destroy'), {
    status,
    statusText: incoming.statusMessage ?? '',
    headers,
  });
}

/**
 * A web stream over a node Readable that reads only when its reader asks (backpressure both
 * ways). Cancelling it destroys the source (a response: the connection goes, as fetch's does)
 * or drains it (a server request: destroying it would take the connection, and the response
 * with it; node drains unread bodies the same way).
 */
function toWebStream(source: Readable, onCancel: 'destroy' | 'drain'): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= source.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        if (onCancel === 'destroy') {
          source.destroy();
          return;
        }
        await iterator?.return?.();
        source.resume();
      },
    },
    { highWaterMark: 0 },
  );
}

// ---- serve: a fetch handler on wirekit's server ---------------------------------------------------

/**
 * Serves a web-standard fetch handler (Hono's `app.fetch`, a Worker's `fetch`...) on wirekit's
 * server: the same listen options, timeouts, HTTPS/HTTP/2 and graceful close as `app.listen()`.
 * Each request becomes a web Request (body streamed, `signal` aborted when the client goes
 * away); the Response is streamed back with backpressure. A throw in the handler is a bare 500.
 * No body limit is applied: the handler's framework owns that (Hono: `bodyLimit`).
 *
 * @example
 * import { Hono } from 'hono';
 * const hono = new Hono().get('/', (c) => c.text('Hello Hono!'));
 * const server = await serve(hono.fetch, { port: 3000 });
 */
export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<AppServer> {
  if (typeof handler !== 'function') throw new TypeError('serve() needs a fetch handler function');
  const { onServerError = serveDefaults.onServerError, ...listen } = options;
  if (typeof onServerError !== 'function') throw new TypeError('onServerError must be a function');
  const workers = workerCount(listen.workers ?? 1);
  const scheme = listen.tls ? 'https' : 'http';
  if (workers > 1 && !isWorker()) return runPrimary(workers, scheme);
  const listener: Listener = (req, res) => void handleExchange(handler, onServerError, scheme, req, res);
  const server = await serveApp(listener, listen, async () => undefined);
  if (workers > 1) reportToPrimary(server);
  return server;
}

async function handleExchange(
  handler: FetchHandler,
  onServerError: (error: unknown, request: Request) => void,
  scheme: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  let request: Request;
  try {
    request = toWebRequest(req, res, scheme);
  } catch {
    // A Host that is no host, or a method fetch forbids (TRACE, CONNECT): not representable.
    sendPlain(res, 400, 'Bad Request\n');
    return;
  }
  let response: Response;
  try {
    response = await handler(request);
    if (!(response instanceof Response)) {
      throw new TypeError(`the fetch handler returned ${describe(response)}, not a Response`);
    }
  } catch (err) {
    onServerError(err, request);
    sendPlain(res, 500, 'Internal Server Error\n');
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

function toWebRequest(req: http.IncomingMessage, res: http.ServerResponse, scheme: string): Request {
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
    init.body = toWebStream(req, 'drain');
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

function sendPlain(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': TEXT, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function describe(value: unknown): string {
  return value === null
    ? 'null'
    : typeof value === 'object'
      ? `a ${value.constructor?.name ?? 'object'}`
      : typeof value;
}
