/**
 * @module wirekit/server/metrics
 * Opt-in Prometheus metrics on prom-client: requests by route and status, a duration
 * histogram, and open connections, served at `/metrics`.
 */
import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type { App } from './app.js';

// prom-client is loaded when metrics are asked for: an app without them does not carry it.
const require = createRequire(import.meta.url);

/** Options for {@link metrics}. */
export interface MetricsOptions {
  /** Where the metrics are served. **Default:** `'/metrics'`. */
  path?: string;
  /** The registry to register in (to share it with your own metrics). **Default:** a new one. */
  registry?: Registry;
  /** Histogram buckets, in seconds. **Default:** 5 ms to 10 s. */
  buckets?: number[];
}

/**
 * Adds request metrics to `app` and serves them at `path`. The route label is the route's
 * pattern (`/users/:id`), never the raw path, so label cardinality stays bounded.
 *
 * @example
 * const registry = metrics(app);   // GET /metrics
 */
export function metrics(app: App, options: MetricsOptions = {}): Registry {
  const { Counter, Gauge, Histogram, Registry } = require('prom-client') as typeof import('prom-client');
  const registry = options.registry ?? new Registry();
  const path = options.path ?? '/metrics';
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds',
    labelNames,
    buckets: options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const open = new Gauge({
    name: 'http_open_connections',
    help: 'Open HTTP connections',
    registers: [registry],
  });
  const seen = new WeakSet<Socket>();
  app.use((ctx, next) => {
    const socket = ctx.req.socket;
    if (!seen.has(socket)) {
      seen.add(socket);
      open.inc();
      socket.once('close', () => open.dec());
    }
    const started = performance.now();
    ctx.res.once('close', () => {
      const labels = {
        method: ctx.method,
        route: ctx.routePath ?? 'unmatched',
        status: String(ctx.res.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    });
    return next();
  });
  app.get(path, async (ctx) => {
    ctx.set('content-type', registry.contentType);
    return registry.metrics();
  });
  return registry;
}
