/** Prometheus metrics: requests by route and status, latency, pool use, bookings by outcome. */
import type { RequestHandler } from 'express';
import type pg from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics(pool: pg.Pool) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  const bookings = new Counter({
    name: 'bookings_total',
    help: 'Booking operations by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      // API routes name themselves (req.baseUrl is reset once the router is left).
      const named: unknown = res.locals['route'];
      const routePath = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof named === 'string' ? named : typeof routePath === 'string' ? routePath : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };

  /** For requests answered outside Express (the seat-map fast path). */
  const record = (labels: { method: string; route: string; status: string }, seconds: number) => {
    requests.inc(labels);
    duration.observe(labels, seconds);
  };

  return { registry, middleware, bookings, record };
}

export type Metrics = ReturnType<typeof createMetrics>;
