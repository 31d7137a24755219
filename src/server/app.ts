/**
 * @module wirekit/server/app
 * `App`: routes, middleware, static files and error handling over node:http. Handlers return
 * what the response should be (a string, an object, bytes, a stream, a web Response...).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseMediaType } from '../http/media-type.js';
import { type CompressionOptions, compressionDefaults } from './compress.js';
import { Context, type ContextSettings } from './context.js';
import { forbidden, HttpError, routingError } from './errors.js';
import { fetchListener } from './fetch.js';
import { type AppServer, type ListenOptions, serveApp, type UpgradeHooks } from './listen.js';
import { multipartDefaults } from './multipart.js';
import { respond, respondError } from './respond.js';
import { METHODS, type Method, Router } from './router.js';
import { createStatic, type StaticOptions } from './static.js';
import { attachSocket, ignoreError, isWebSocketUpgrade, upgradeHeaders, upgradeResponse } from './upgrade.js';
// wirekit/server depends on wirekit/ws (never the reverse); ws itself loads on the first upgrade.
import {
  type WebSocketHandler,
  WebSocketEndpoint,
  WebSocketHost,
  type WebSocketRouteOptions,
} from '../ws/server.js';
import { isWorker, reportToPrimary, runPrimary, workerCount } from './workers.js';

/** Middleware: runs around the rest of the chain; `next()` resolves with what the rest returned. */
export type Middleware = (ctx: Context, next: () => Promise<unknown>) => unknown;
/** A route handler: returns the response body (or a Promise of it). The last of a route's chain. */
export type Handler = Middleware;
/** Handles an error thrown anywhere in the chain; what it returns is sent as the response. */
export type ErrorHandler = (error: unknown, ctx: Context) => unknown;

/** Options for {@link App}. */
export interface AppOptions {
  /** Believe X-Forwarded-For for `ctx.ip` (only behind a proxy you run). **Default:** `false`. */
  trustProxy?: boolean;
  /** Request body limit in bytes (decoded), for every reader; routes may override. **Default:** 1 MiB. */
  bodyLimit?: number;
  /** `'strict'`: `/a/` and `/a` differ; `'ignore'`: both reach the route. **Default:** `'strict'`. */
  trailingSlash?: 'strict' | 'ignore';
  /** Longest route parameter; longer is a 404. **Default:** `100`. */
  maxParamLength?: number;
  /** Secret for signed cookies. **Default:** none (signing throws). */
  cookieSecret?: string;
  /**
   * Compress responses (br or gzip by Accept-Encoding) of text-like types from `threshold`
   * bytes: `true` for the defaults, or `{ threshold, encodings }`. **Default:** off.
   */
  compression?: boolean | CompressionOptions;
  /**
   * Called with errors that become a 5xx (not with 4xx HttpErrors): log them here.
   * **Default:** one line with the stack on stderr.
   */
  onServerError?: (error: unknown, ctx: Context) => void;
}

export const appDefaults = {
  trustProxy: false,
  bodyLimit: 1024 * 1024,
  trailingSlash: 'strict',
  maxParamLength: 100,
  cookieSecret: undefined,
  compression: false,
  onServerError: (error: unknown, ctx: Context) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`wirekit/server: ${ctx.method} ${ctx.path} failed: ${detail}\n`);
  },
} satisfies AppOptions;

/** Options of one route, given before its handlers: `app.post('/upload', { bodyLimit }, handler)`. */
export interface RouteOptions {
  /** This route's body limit in bytes. **Default:** the app's. */
  bodyLimit?: number;
}

interface RouteDefinition {
  method: Method;
  path: string;
  chain: Middleware[];
  options: RouteOptions;
}

/** What the router stores for a route: its chain and the settings precomputed for it. */
interface CompiledRoute {
  chain: Middleware[];
  /** The handler alone when there is no route middleware: the fast path calls it directly. */
  handler: Handler | null;
  bodyLimit: number;
  /** The route's own bodyLimit, if it set one. */
  routeBodyLimit: number | undefined;
  /** The route's pattern, for logs and metrics labels. */
  path: string;
}

type RouteArgs = [RouteOptions | Middleware, ...Middleware[]];

/** A WebSocket route: options first if any, then middleware, the handler last. */
type WebSocketRouteArgs = [...Array<WebSocketRouteOptions | Middleware>, WebSocketHandler];

interface WebSocketRoute {
  path: string;
  /** The route's own middleware (the app's run before it). */
  chain: Middleware[];
  handler: WebSocketHandler;
  endpoint: WebSocketEndpoint;
}

/**
 * A web application: routes, middleware, static files, error handling.
 *
 * @example
 * const app = new App();
 * app.get('/', () => 'Hello World!');
 * app.get('/users/:id', (ctx) => ({ id: ctx.params.id }));
 * const server = await app.listen({ port: 5000 });
 */
/** Marks an App, whichever copy of wirekit made it (see {@link App.isApp}). */
const APP_BRAND = Symbol.for('wirekit.App');

export class App {
  /**
   * Whether `value` is an App, also one made by another copy of wirekit (a module loaded through
   * another loader, a second install), where `instanceof` says no.
   */
  static isApp(value: unknown): value is App {
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_BRAND] === true
    );
  }

  /** @internal */
  readonly [APP_BRAND] = true;
  readonly #options: Required<Omit<AppOptions, 'cookieSecret' | 'compression'>> & {
    cookieSecret: string | undefined;
  };
  readonly #settings: ContextSettings;
  readonly #routes: RouteDefinition[] = [];
  readonly #wsRoutes: WebSocketRoute[] = [];
  #wsRouter: Router<WebSocketRoute> | null = null;
  readonly #middleware: Middleware[] = [];
  readonly #startup: Array<() => unknown> = [];
  readonly #shutdown: Array<() => unknown> = [];
  #errorHandler: ErrorHandler | undefined;
  #router: Router<CompiledRoute> | null = null;

  constructor(options: AppOptions = {}) {
    const o = { ...appDefaults, ...withoutUndefined(options) };
    if (!(Number.isSafeInteger(o.bodyLimit) && o.bodyLimit >= 0)) {
      throw new RangeError(`bodyLimit must be a non-negative integer, got ${o.bodyLimit}`);
    }
    if (o.trailingSlash !== 'strict' && o.trailingSlash !== 'ignore') {
      throw new RangeError(`trailingSlash must be 'strict' or 'ignore', got ${String(o.trailingSlash)}`);
    }
    this.#options = o;
    const compression = o.compression === true ? {} : o.compression || undefined;
    this.#settings = {
      trustProxy: o.trustProxy,
      cookieSecret: o.cookieSecret,
      compression: compression === undefined ? undefined : { ...compressionDefaults, ...compression },
    };
  }

  // ---- routes ----------------------------------------------------------------------------------

  /** Adds a route for `method` (or several) and `path`: `:name` parameters, `*` wildcards. */
  route(method: Method | Method[] | 'ALL', path: string, ...args: RouteArgs): this {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError(`route path must start with /: ${path}`);
    const [first, ...rest] = args;
    const options = typeof first === 'object' && first !== null ? first : {};
    const fns = (typeof first === 'function' ? [first, ...rest] : rest) as Middleware[];
    if (fns.length === 0 || fns.some((fn) => typeof fn !== 'function')) {
      throw new TypeError(`route ${path} needs a handler function`);
    }
    const methods = method === 'ALL' ? METHODS : Array.isArray(method) ? method : [method];
    for (const m of methods) {
      if (!METHODS.includes(m)) throw new RangeError(`unsupported method ${m}`);
      this.#routes.push({ method: m, path, chain: fns, options });
    }
    this.#router = null;
    return this;
  }

  get(path: string, ...args: RouteArgs): this {
    return this.route('GET', path, ...args);
  }
  post(path: string, ...args: RouteArgs): this {
    return this.route('POST', path, ...args);
  }
  put(path: string, ...args: RouteArgs): this {
    return this.route('PUT', path, ...args);
  }
  patch(path: string, ...args: RouteArgs): this {
    return this.route('PATCH', path, ...args);
  }
  delete(path: string, ...args: RouteArgs): this {
    return this.route('DELETE', path, ...args);
  }
  head(path: string, ...args: RouteArgs): this {
    return this.route('HEAD', path, ...args);
  }
  options(path: string, ...args: RouteArgs): this {
    return this.route('OPTIONS', path, ...args);
  }
  all(path: string, ...args: RouteArgs): this {
    return this.route('ALL', path, ...args);
  }

  /**
   * Adds a WebSocket route: an upgrade request to `path` runs the app's middleware, then the
   * route's, with a normal `ctx` (params, cookies, state), so auth middleware that throws
   * `unauthorized()` refuses the upgrade with a plain 401. Then the handshake (origin check:
   * 403; subprotocol choice) and `handler(socket, ctx)`; when the handler returns the socket
   * closes with 1000, when it throws with 1011 (the error goes to `onServerError`; a
   * WebSocketClosedError is a normal end). A plain GET to `path` gets 426 Upgrade Required,
   * unless a GET route for the same path answers it. Options: {@link WebSocketRouteOptions}.
   *
   * @example
   * app.ws('/echo', async (socket) => {
   *   for await (const message of socket) await socket.send(message);
   * });
   * app.ws('/rooms/:room', { protocols: ['chat.v1'] }, requireUser, async (socket, ctx) => {
   *   await socket.send(`welcome to ${ctx.params.room}`);
   * });
   */
  ws(path: string, ...args: WebSocketRouteArgs): this {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError(`route path must start with /: ${path}`);
    const handler = args.at(-1);
    if (typeof handler !== 'function') throw new TypeError(`ws route ${path} needs a handler function`);
    let rest = args.slice(0, -1);
    let options: WebSocketRouteOptions = {};
    if (typeof rest[0] === 'object' && rest[0] !== null) {
      options = rest[0];
      rest = rest.slice(1);
    }
    if (rest.some((fn) => typeof fn !== 'function')) {
      throw new TypeError(
        `ws route ${path}: give options first, then middleware functions, then the handler`,
      );
    }
    this.#wsRoutes.push({
      path,
      chain: rest as Middleware[],
      handler: handler as WebSocketHandler,
      endpoint: new WebSocketEndpoint(options),
    });
    this.#router = null;
    this.#wsRouter = null;
    return this;
  }

  /** Adds middleware that runs around every request (404s included), in the order added. */
  use(middleware: Middleware): this {
    if (typeof middleware !== 'function') throw new TypeError('middleware must be a function');
    this.#middleware.push(middleware);
    return this;
  }

  /** Serves the routes of `app` under `prefix`, each wrapped in `app`'s own middleware. */
  mount(prefix: string, app: App): this {
    const base = normalizePrefix(prefix);
    for (const route of app.#routes) {
      const path = base + (route.path === '/' && base !== '' ? '' : route.path);
      this.#routes.push({ ...route, path: path || '/', chain: [...app.#middleware, ...route.chain] });
    }
    for (const route of app.#wsRoutes) {
      const path = base + (route.path === '/' && base !== '' ? '' : route.path);
      this.#wsRoutes.push({ ...route, path: path || '/', chain: [...app.#middleware, ...route.chain] });
    }
    this.#router = null;
    this.#wsRouter = null;
    return this;
  }

  /** Serves the files under `dir` at `prefix` (GET and HEAD). */
  static(prefix: string, dir: string, options: StaticOptions = {}): this {
    const base = normalizePrefix(prefix);
    const serve = createStatic(dir, options);
    const handler: Handler = async (ctx) => {
      if (!(await serve(ctx.req, ctx.res, ctx.path.slice(base.length)))) throw routingError(404);
    };
    this.route(['GET', 'HEAD'], `${base}/*`, handler);
    if (base !== '') this.route(['GET', 'HEAD'], base, handler);
    return this;
  }

  /** Replaces the default error response: `handler` returns what to send instead. */
  onError(handler: ErrorHandler): this {
    this.#errorHandler = handler;
    return this;
  }

  /** Runs `hook` before the server starts listening. */
  onStartup(hook: () => unknown): this {
    this.#startup.push(hook);
    return this;
  }

  /** Runs `hook` after the server closed. */
  onShutdown(hook: () => unknown): this {
    this.#shutdown.push(hook);
    return this;
  }

  /** Starts an HTTP(S) server for this app. See {@link ListenOptions}. */
  async listen(options: ListenOptions = {}): Promise<AppServer> {
    const workers = workerCount(options.workers ?? 1);
    if (workers > 1 && !isWorker()) return runPrimary(workers, options.tls ? 'https' : 'http');
    for (const hook of this.#startup) await hook();
    const server = await serveApp(
      this.handle,
      options,
      async () => {
        for (const hook of this.#shutdown) await hook();
      },
      {
        expectContinue: this.#expectContinue,
        upgrades: this.#wsRoutes.length === 0 ? undefined : this.#upgrades(),
      },
    );
    if (workers > 1) reportToPrimary(server);
    return server;
  }

  /**
   * Answers a web-standard Request without a socket, through the same pipeline as a real
   * request (routing, middleware, body limits, errors, cookies, static files, streams, HEAD):
   * for tests and fetch runtimes. Resolves once the head is in; the body streams.
   *
   * Bound, like `handle`, so `export default { fetch: app.fetch }` and `serve(app.fetch)` work.
   *
   * @example
   * const res = await app.fetch(new Request('http://localhost/users/42'));
   * assert.deepEqual(await res.json(), { id: '42' });
   */
  readonly fetch = (request: Request): Promise<Response> => fetchListener(this.handle, request);

  // ---- requests --------------------------------------------------------------------------------

  /** The node:http request listener: `http.createServer(app.handle)`. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url as string;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const router = (this.#router ??= this.#compile());
    // find() never throws: a path it cannot decode matches nothing (#miss answers it).
    const match = router.find(req.method as string, path);
    const route = match?.value;
    const params = match?.params;
    const ctx = new Context(
      req,
      res,
      path,
      q === -1 ? '' : url.slice(q + 1),
      this.#settings,
      route?.bodyLimit ?? this.#options.bodyLimit,
    );
    if (params !== undefined) ctx.params = params;
    if (route !== undefined) {
      ctx.routePath = route.path;
      if (route.routeBodyLimit !== undefined) ctx.routeBodyLimit = route.routeBodyLimit;
    }
    // Fast path: no middleware anywhere, the handler's result goes straight out.
    if (route !== undefined && route.handler !== null && this.#middleware.length === 0) {
      let result: unknown;
      try {
        result = route.handler(ctx, END);
      } catch (err) {
        this.#fail(ctx, err);
        return;
      }
      if (result instanceof Promise)
        result.then(
          (value) => this.#finish(ctx, value),
          (err) => this.#fail(ctx, err),
        );
      else this.#finish(ctx, result);
      return;
    }
    const inner = route !== undefined ? route.chain : [this.#miss(router, req.method as string, path)];
    const chain = this.#middleware.length === 0 ? inner : [...this.#middleware, ...inner];
    run(chain, 0, ctx).then(
      (value) => this.#finish(ctx, value),
      (err) => this.#fail(ctx, err),
    );
  };

  /**
   * A request with `Expect: 100-continue` (curl sends one with any body over 1 MiB). node would
   * send `100 Continue` before any handler runs, and the client would upload a body the app is
   * about to refuse. When the refusal is known from the headers — the declared Content-Length is
   * over the limit the route's readers apply, or no route matches and no middleware could
   * answer — the request runs without the 100, on a connection that closes after the answer, so
   * the body is not sent. Otherwise the 100 goes out first, as node does.
   */
  readonly #expectContinue = (req: IncomingMessage, res: ServerResponse): void => {
    if (!this.#refusesUpload(req)) res.writeContinue();
    // HTTP/2 has no such header: a stream ends on its own.
    else if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
    this.handle(req, res);
  };

  #refusesUpload(req: IncomingMessage): boolean {
    const url = req.url as string;
    const q = url.indexOf('?');
    const router = (this.#router ??= this.#compile());
    const match = router.find(req.method as string, q === -1 ? url : url.slice(0, q));
    if (match === null) return this.#middleware.length === 0;
    const route = match.value;
    // What ctx's readers would apply: multipart has its own default, the others the body limit.
    const limit =
      parseMediaType(req.headers['content-type'])?.type === 'multipart/form-data'
        ? (route.routeBodyLimit ?? multipartDefaults.limit)
        : route.bodyLimit;
    return Number(req.headers['content-length']) > limit;
  }

  // ---- upgrades -------------------------------------------------------------------------------

  /** The upgrade hooks of one listening server, with its own set of open WebSockets. */
  #upgrades(): UpgradeHooks {
    const host = new WebSocketHost();
    return {
      upgrade: (req, socket, head) => this.#upgrade(req, socket, head, host),
      close: () => host.close(),
    };
  }

  /** An HTTP/1.1 Upgrade request: a WebSocket route's, else an ordinary request. */
  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, host: WebSocketHost): void {
    // node let go of the socket (and its error listener) when it emitted the upgrade.
    socket.on('error', ignoreError);
    const res = upgradeResponse(req);
    // Another protocol (h2c...): answered as a normal request, on a connection that then closes.
    if (!isWebSocketUpgrade(req)) {
      attachSocket(res, socket);
      return this.handle(req, res);
    }
    const url = req.url as string;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const router = (this.#wsRouter ??= this.#compileWs());
    const match = router.find('GET', path);
    const ctx = new Context(
      req,
      res,
      path,
      q === -1 ? '' : url.slice(q + 1),
      this.#settings,
      this.#options.bodyLimit,
    );
    let last: Middleware;
    let chain: Middleware[] = this.#middleware;
    if (match !== null) {
      const route = match.value;
      ctx.params = match.params;
      ctx.routePath = route.path;
      last = () => this.#accept(ctx, route, socket, head, host);
      if (route.chain.length > 0) chain = [...chain, ...route.chain];
    } else {
      last = () => {
        throw routingError(404);
      };
    }
    run([...chain, last], 0, ctx).then(
      (value) => {
        if (handedOver.has(ctx)) return void ctx.cleanup();
        // A middleware answered instead of calling next(): its answer goes out over HTTP.
        attachSocket(res, socket);
        this.#finish(ctx, value);
      },
      (err) => {
        if (!handedOver.has(ctx)) {
          attachSocket(res, socket);
          return this.#fail(ctx, err);
        }
        // After the handshake the socket speaks WebSocket: an error can only be reported.
        if (!(err instanceof HttpError && err.status < 500)) this.#options.onServerError(err, ctx);
        void ctx.cleanup();
      },
    );
  }

  /**
   * The last step of a WebSocket route's chain: origin, handshake, then the handler, which runs
   * on its own in `host`: the chain (and `next()` in middleware) resolves once the handshake is
   * done, so nothing of the HTTP exchange stays referenced for the socket's lifetime unless the
   * handler or a middleware keeps it (an access log listening to `ctx.res` 'close' does).
   */
  #accept(ctx: Context, route: WebSocketRoute, socket: Duplex, head: Buffer, host: WebSocketHost): void {
    if (ctx.method !== 'GET')
      throw routingError(405, 'a WebSocket opens with GET', { headers: { allow: 'GET' } });
    if (!route.endpoint.allows(ctx.req)) throw forbidden('this origin may not open a WebSocket here');
    const headers = upgradeHeaders(ctx);
    handedOver.add(ctx);
    const ws = route.endpoint.accept(ctx.req, socket, head, headers);
    const res = ctx.res;
    // ws refused a malformed handshake itself (400) and closed the connection.
    if (ws === null) {
      res.statusCode = 400;
      return;
    }
    // ws listens for the socket's errors now.
    socket.off('error', ignoreError);
    res.statusCode = 101;
    // Attached, the response emits 'close' when the connection closes (for access logs and
    // metrics); with nobody listening it stays off the socket and can be collected.
    if (res.listenerCount('close') > 0) attachSocket(res, socket);
    host.serve(ws, ctx, route.handler, this.#options.onServerError);
  }

  #compileWs(): Router<WebSocketRoute> {
    const router = new Router<WebSocketRoute>({
      trailingSlash: this.#options.trailingSlash,
      maxParamLength: this.#options.maxParamLength,
    });
    for (const route of this.#wsRoutes) router.add('GET', route.path, route);
    return router;
  }

  /** The innermost step when no route matched: 400, 405 with Allow, or 404. */
  #miss(router: Router<CompiledRoute>, method: string, path: string): Middleware {
    return () => {
      // The router matches nothing for a path it cannot decode: a client error, not a miss.
      if (path.includes('%') && !decodes(path)) throw routingError(400, 'malformed URL encoding');
      const allowed = router.allowed(path);
      if (allowed.length > 0 && !allowed.includes(method as Method)) {
        throw routingError(405, `${method} is not allowed here`, { headers: { allow: allowed.join(', ') } });
      }
      throw routingError(404);
    };
  }

  #finish(ctx: Context, value: unknown): void {
    let sent: void | Promise<void>;
    try {
      sent = respond(ctx, value);
    } catch (err) {
      this.#fail(ctx, err);
      return;
    }
    if (sent instanceof Promise)
      sent.then(
        () => ctx.cleanup(),
        (err) => this.#fail(ctx, err),
      );
    else if (ctx.needsCleanup) void ctx.cleanup();
  }

  #fail(ctx: Context, err: unknown): void {
    const status = err instanceof HttpError ? err.status : 500;
    if (status >= 500) this.#options.onServerError(err, ctx);
    const done = () => void ctx.cleanup();
    if (this.#errorHandler === undefined) {
      respondError(ctx, err);
      done();
      return;
    }
    Promise.resolve()
      .then(() => (this.#errorHandler as ErrorHandler)(err, ctx))
      .then((value) => {
        if (ctx.status === 0) ctx.status = status;
        return respond(ctx, value);
      })
      .catch((again: unknown) => respondError(ctx, again))
      .finally(done);
  }

  #compile(): Router<CompiledRoute> {
    const router = new Router<CompiledRoute>({
      trailingSlash: this.#options.trailingSlash,
      maxParamLength: this.#options.maxParamLength,
    });
    for (const { method, path, chain, options } of this.#routes) {
      router.add(method, path, {
        chain,
        handler: chain.length === 1 ? (chain[0] as Handler) : null,
        bodyLimit: options.bodyLimit ?? this.#options.bodyLimit,
        routeBodyLimit: options.bodyLimit,
        path,
      });
    }
    // A WebSocket path answers a plain GET with 426, unless a GET route of its own answers.
    const gets = new Set(this.#routes.filter((r) => r.method === 'GET').map((r) => r.path));
    for (const { path } of this.#wsRoutes) {
      if (gets.has(path)) continue;
      gets.add(path);
      router.add('GET', path, {
        chain: [upgradeRequired],
        handler: upgradeRequired,
        bodyLimit: this.#options.bodyLimit,
        routeBodyLimit: undefined,
        path,
      });
    }
    return router;
  }
}

/** Upgrade contexts whose handshake ws took over (done, or refused by ws itself). */
const handedOver = new WeakSet<Context>();

/** A plain request to a WebSocket-only path. */
function upgradeRequired(): never {
  throw routingError(426, 'this path speaks WebSocket: send an Upgrade: websocket request', {
    headers: { upgrade: 'websocket', connection: 'Upgrade' },
  });
}

/** The `next` of the last step of a chain: there is nothing after it. */
const END = (): Promise<unknown> => Promise.resolve(undefined);

/** Runs `chain[i]` with a `next` that runs the rest; a middleware returning nothing passes on what the rest returned. */
async function run(chain: Middleware[], i: number, ctx: Context): Promise<unknown> {
  const fn = chain[i] as Middleware;
  if (i === chain.length - 1) return fn(ctx, END);
  let downstream: unknown;
  let called = false;
  const next = async () => {
    if (called) throw new Error('next() called twice');
    called = true;
    downstream = await run(chain, i + 1, ctx);
    return downstream;
  };
  const result = await fn(ctx, next);
  return result === undefined ? downstream : result;
}

/** Whether every percent-escape of `path` is well formed and the bytes are UTF-8. */
function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

function normalizePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || !prefix.startsWith('/'))
    throw new TypeError(`prefix must start with /: ${prefix}`);
  return prefix.replace(/\/+$/, '');
}

function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
