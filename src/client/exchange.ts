/**
 * @module wirekit/client/exchange
 * One hop on the wire: undici's own handler for `dispatcher.request()` (its RequestHandler, which
 * makes the body stream), dispatched with the call's signal kept out of undici. Handing undici an
 * AbortSignal costs a listener and two closures per request on its side, about a tenth of a
 * keep-alive GET's time on loopback (measured with the client benchmark's GETs); and every call
 * has a signal, since the total timeout is on by default. So a call's own signal (CallSignal)
 * cancels the hop it is on directly, doing what undici's listener does: abort the request
 * before its head, destroy the body after. A foreign signal (an AbortSignal used as is) still
 * goes to undici.
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { CallSignal, type AbortSignalLike, type Cancellable } from './timeouts.js';
import type { RequestClock } from './timings.js';

type Callback = (err: Error | null, data: Dispatcher.ResponseData) => void;

/** The parts of undici's RequestHandler that cancelling uses (as its signal listener does). */
interface UndiciRequestHandler extends Dispatcher.DispatchHandler {
  /** Set before the connection: undici aborts the request with it as soon as it connects. */
  reason: unknown;
  /** The body stream, once the head arrived. */
  res: Readable | null;
  /** Aborts the request on its connection, once connected. */
  abort: ((err: Error) => void) | null;
}

type RequestHandlerClass = new (opts: Dispatcher.RequestOptions, callback: Callback) => UndiciRequestHandler;

// Not part of undici's typed surface, but the handler behind its public request(); the package
// lock pins undici, and test/client/timeouts.test.ts cancels hops in every state this touches.
const { RequestHandler } = createRequire(import.meta.url)('undici/lib/api/api-request.js') as {
  RequestHandler: RequestHandlerClass;
};

function ignore(): void {}

/** A hop's handler that its call's signal can cancel. */
class Hop extends RequestHandler implements Cancellable {
  #fail: ((err: Error) => void) | undefined;
  readonly #clock: RequestClock;

  constructor(
    options: Dispatcher.RequestOptions,
    callback: Callback,
    fail: (err: Error) => void,
    clock: RequestClock,
  ) {
    super(options, callback);
    this.#fail = fail;
    this.#clock = clock;
  }

  override onHeaders(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx heads are interim; the final head is the one the clock marks.
    if (status >= 200) this.#clock.head();
    return super.onHeaders!(status, headers, resume, statusText);
  }

  cancel(reason: unknown): void {
    this.reason = reason;
    if (this.res !== null) {
      this.res.on('error', ignore).destroy(reason as Error);
      return;
    }
    this.abort?.(reason as Error);
    // A request still queued for a connection is aborted by undici once it gets one; the call
    // fails now, as its deadline says.
    this.#fail?.(reason as Error);
    this.#fail = undefined;
  }
}

/**
 * `dispatcher.request(options)` with `signal` (the hop's cancellation) applied by wirekit when it
 * is a call's own signal, and the head's arrival marked on `clock`. Resolves with the response
 * head and its body stream.
 */
export function exchange(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
  signal: AbortSignalLike | undefined,
  clock: RequestClock,
): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    const own = signal instanceof CallSignal;
    if (!own && signal !== undefined) options.signal = signal as AbortSignal;
    let hop: Hop;
    try {
      hop = new Hop(options, (err, data) => (err === null ? resolve(data) : reject(err)), reject, clock);
    } catch (err) {
      reject(err as Error);
      return;
    }
    if (own) signal.watch(hop);
    dispatcher.dispatch(options, hop);
  });
}
