/**
 * @module wirekit/server/fetch
 * `app.fetch(request)`: runs an App on a web Request without a socket, through node:http's own
 * parser and ServerResponse over an in-memory socket pair.
 */
import * as http from 'node:http';
import { Duplex } from 'node:stream';
import { HOP_BY_HOP, toWebStream } from './web-stream.js';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

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
