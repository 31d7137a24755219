/**
 * @module wirekit/client/hooks
 * The session's hooks (beforeRequest, afterResponse, beforeRedirect, beforeRetry) and the
 * `diagnostics_channel` events wirekit publishes (`wirekit:client:request`, `:response`,
 * `:error`, `:redirect`, `:retry`), run through one small per-call state that exists only when a
 * call has hooks, retries or a subscriber: a plain call pays one boolean test per channel.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Dispatcher } from 'undici';
import { mergeHeaders } from './options.js';
import type { Hop } from './redirects.js';
import { Response, type ResponseHeaders } from './response.js';
import { backoffDelay, type ResolvedRetry, retryableError, retryAfter } from './retry.js';

/** A hop as hooks and subscribers see it. */
export interface HookRequest {
  readonly method: string;
  readonly url: URL;
  /** Lowercase names, without the jar's cookies. `beforeRequest` may set, change or delete any. */
  headers: Record<string, string>;
  /** Retries made in this call before this hop was sent: 0 for the first attempt. */
  readonly attempt: number;
  /** Redirects followed in this call before this hop. */
  readonly redirects: number;
}

/** Where a redirect goes. */
export interface RedirectInfo {
  /** The 3xx status. */
  readonly status: number;
  readonly url: URL;
  /** The next hop's method (a 303 makes it GET). */
  readonly method: string;
}

/** Why and when a hop is sent again. */
export interface RetryInfo {
  /** The hop that failed or got a retryable status. */
  readonly request: HookRequest;
  /** The retry about to be made, counted across the call: 1 for the first. */
  readonly attempt: number;
  /** The wirekit error of a failed hop (ConnectError, SocketError); `undefined` for a status. */
  readonly error: unknown;
  /** The retryable status; `undefined` for a failure. */
  readonly status: number | undefined;
  /** The response headers of a retryable status (Retry-After...). */
  readonly headers: ResponseHeaders | undefined;
  /** Milliseconds wirekit waits before the retry. */
  readonly delay: number;
}

/** Runs before each hop is sent (every redirect hop and retry); may change `request.headers`. */
export type BeforeRequestHook = (request: HookRequest) => void | Promise<void>;
/** Runs once per call on the final response; returning a Response replaces it. */
export type AfterResponseHook = (
  response: Response,
  request: HookRequest,
) => Response | void | Promise<Response | void>;
/** Runs before a redirect is followed; throwing stops the call with that error. */
export type BeforeRedirectHook = (request: HookRequest, next: RedirectInfo) => void | Promise<void>;
/** Runs before each retry, before its wait; throwing stops the call with that error. */
export type BeforeRetryHook = (retry: RetryInfo) => void | Promise<void>;

/** The session's hooks: arrays of functions, run in order, each awaited. */
export interface Hooks {
  beforeRequest?: readonly BeforeRequestHook[];
  afterResponse?: readonly AfterResponseHook[];
  beforeRedirect?: readonly BeforeRedirectHook[];
  beforeRetry?: readonly BeforeRetryHook[];
}

/** Checked hooks; `undefined` when the session has none. */
export type ResolvedHooks = Required<Hooks>;

const HOOK_NAMES = ['beforeRequest', 'afterResponse', 'beforeRedirect', 'beforeRetry'] as const;

/** Checks the `hooks` option; throws TypeError on anything but arrays of functions. */
export function resolveHooks(hooks: Hooks | undefined): ResolvedHooks | undefined {
  if (hooks === undefined) return undefined;
  if (typeof hooks !== 'object' || hooks === null) throw new TypeError('hooks must be an object');
  for (const key of Object.keys(hooks)) {
    if (!(HOOK_NAMES as readonly string[]).includes(key)) throw new TypeError(`unknown hook ${key}`);
  }
  let any = false;
  const out = {} as Record<(typeof HOOK_NAMES)[number], readonly unknown[]>;
  for (const name of HOOK_NAMES) {
    const list = hooks[name] ?? [];
    if (!Array.isArray(list) || list.some((fn) => typeof fn !== 'function')) {
      throw new TypeError(`hooks.${name} must be an array of functions`);
    }
    out[name] = [...(list as unknown[])];
    any ||= list.length > 0;
  }
  return any ? (out as ResolvedHooks) : undefined;
}

/** wirekit's diagnostics channels; subscribe with `diagnostics_channel.subscribe(name, fn)`. */
export const channels = {
  /** `{ request }` before each hop is sent. */
  request: diagnostics.channel('wirekit:client:request'),
  /** `{ request, response }` once per call, with the final Response. */
  response: diagnostics.channel('wirekit:client:response'),
  /** `{ request, error }` when a call rejects. */
  error: diagnostics.channel('wirekit:client:error'),
  /** `{ request, status, url, method }` before a redirect is followed. */
  redirect: diagnostics.channel('wirekit:client:redirect'),
  /** `{ request, attempt, error, status, headers, delay }` before a retry. */
  retry: diagnostics.channel('wirekit:client:retry'),
};

/** Whether anyone listens on a wirekit channel (checked once per call). */
export function tracing(): boolean {
  const c = channels;
  return (
    c.request.hasSubscribers ||
    c.response.hasSubscribers ||
    c.error.hasSubscribers ||
    c.redirect.hasSubscribers ||
    c.retry.hasSubscribers
  );
}

function view(hop: Hop, attempt: number, redirects: number): HookRequest {
  return { method: hop.method, url: hop.url, headers: { ...hop.headers }, attempt, redirects };
}

/** Publishes a call's failure on `wirekit:client:error` (if anyone listens); returns `err`. */
export function traceError(err: unknown, hop: Hop, call?: Call): unknown {
  if (channels.error.hasSubscribers) {
    channels.error.publish({ request: call?.request ?? view(hop, call?.retries ?? 0, 0), error: err });
  }
  return err;
}

/** The state of one call's attempts: retries made, redirects followed, the hop last sent. */
export class Call {
  retries = 0;
  redirects = 0;
  /** The hop last sent, as hooks saw it. */
  request: HookRequest | undefined;
  readonly retry: ResolvedRetry;
  readonly hooks: ResolvedHooks | undefined;

  constructor(retry: ResolvedRetry, hooks: ResolvedHooks | undefined) {
    this.retry = retry;
    this.hooks = hooks;
  }

  /** Before each send: beforeRequest hooks on a copy of the headers (checked after), and the trace. */
  async send(hop: Hop): Promise<Hop> {
    const request = view(hop, this.retries, this.redirects);
    this.request = request;
    let sent = hop;
    const hooks = this.hooks?.beforeRequest;
    if (hooks !== undefined && hooks.length > 0) {
      for (const hook of hooks) await hook(request);
      request.headers = mergeHeaders({}, request.headers);
      sent = { ...hop, headers: request.headers };
    }
    if (channels.request.hasSubscribers) channels.request.publish({ request });
    return sent;
  }

  /**
   * Milliseconds to wait before sending `hop` again after `data` or `error`, or -1 when it is
   * not retried: retries used up, a method not in the policy, a body that cannot be replayed
   * (a stream), an error that is not a network failure, a status not in the policy.
   */
  delay(hop: Hop, data: Dispatcher.ResponseData | undefined, error: unknown): number {
    const p = this.retry;
    if (this.retries >= p.limit || !p.methods.has(hop.method)) return -1;
    if (hop.body !== undefined && hop.body.replay === undefined) return -1;
    if (data === undefined) return retryableError(error) ? backoffDelay(p, this.retries + 1) : -1;
    if (!p.statusCodes.has(data.statusCode)) return -1;
    return retryAfter(data.headers['retry-after'], p.maxRetryAfter) ?? backoffDelay(p, this.retries + 1);
  }

  /** Counts a retry, runs beforeRetry hooks and publishes it. */
  async retrying(data: Dispatcher.ResponseData | undefined, error: unknown, delay: number): Promise<void> {
    this.retries++;
    const hooks = this.hooks?.beforeRetry;
    if ((hooks === undefined || hooks.length === 0) && !channels.retry.hasSubscribers) return;
    const info: RetryInfo = {
      request: this.request!,
      attempt: this.retries,
      error,
      status: data?.statusCode,
      headers: data?.headers as ResponseHeaders | undefined,
      delay,
    };
    if (hooks !== undefined) for (const hook of hooks) await hook(info);
    if (channels.retry.hasSubscribers) channels.retry.publish(info);
  }

  /** Before a redirect to `next` is followed: beforeRedirect hooks and the trace. */
  async redirecting(status: number, next: Hop): Promise<void> {
    const hooks = this.hooks?.beforeRedirect;
    const request = this.request!;
    const info: RedirectInfo = { status, url: next.url, method: next.method };
    if (hooks !== undefined) for (const hook of hooks) await hook(request, info);
    if (channels.redirect.hasSubscribers) channels.redirect.publish({ request, ...info });
    this.redirects++;
  }

  /**
   * The final response through afterResponse hooks (a hook that returns a Response replaces it;
   * the replaced one's unread body is dumped), then the trace.
   */
  async respond(res: Response): Promise<Response> {
    const hooks = this.hooks?.afterResponse;
    const request = this.request!;
    if (hooks !== undefined) {
      for (const hook of hooks) {
        let out: unknown;
        try {
          out = await hook(res, request);
        } catch (err) {
          await res.dump();
          throw err;
        }
        if (out instanceof Response && out !== res) {
          await res.dump();
          res = out;
        }
      }
    }
    if (channels.response.hasSubscribers) channels.response.publish({ request, response: res });
    return res;
  }
}
