/**
 * The front middleware: everything each request goes through before routing, in one function
 * instead of six Express layers (pino-http, helmet, HSTS, cors, metrics, URL check, drain
 * guard), each of which walked the router, added its own listeners and set the same constant
 * headers again (ADR 0015). In order:
 *
 * 1. the request id: X-Request-Id when sane, else a UUID, echoed in the response;
 * 2. the constant headers, one loop over a list computed at start-up: helmet's security
 *    headers, and with CORS_ORIGINS=* the CORS headers of a simple request; HSTS over https;
 * 3. one `close` listener (shared, no closure per request) that counts and times the request
 *    in the metrics (route label: the `defineRoute` route in `res.locals.route`, else Express's
 *    matched path, else `unmatched`) and writes its log line (request-log.ts; not for /health
 *    and /metrics);
 * 4. CORS by the `cors` package where the answer depends on the request: preflights
 *    (OPTIONS, answered 204 here) and every request under an origin allow-list;
 * 5. 400 MALFORMED_URL for a target that is not valid percent-encoding;
 * 6. while draining, 503 with `Connection: close`.
 */
import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import type { CorsOptions } from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { serviceUnavailable } from '../domain/errors.ts';
import { malformedUrl } from './errors.ts';
import type { Metrics } from './metrics.ts';
import { sendProblem } from './problem.ts';
import { logRequest, requestIdOf } from './request-log.ts';
import { isMalformedUrl } from './request-url.ts';
import type { HeaderList } from './security-headers.ts';

const STARTED = Symbol('started');
type Timed = ServerResponse & { [STARTED]?: number };

export interface FrontOptions {
  logger: Logger;
  metrics: Metrics;
  /** Set on every response. */
  headers: HeaderList;
  /** Added when `req.secure` (HSTS). */
  secureHeaders: HeaderList;
  /**
   * The `cors` middleware. `always`: run it on every request (an origin allow-list varies the
   * answer by Origin); otherwise only on OPTIONS (its simple-request headers are in `headers`).
   */
  cors: { middleware: RequestHandler; always: boolean };
  draining: () => boolean;
}

/** The `cors` package's options: CORS_ORIGINS ('*' or an allow-list), what browsers may send and read. */
export function corsOptions(origins: '*' | string[]): CorsOptions {
  return {
    origin: origins,
    exposedHeaders: ['Location', 'ETag', 'Retry-After', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed', 'Allow'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match', 'X-Request-Id', 'Last-Event-ID'],
  };
}

/** Paths whose requests are counted but not logged (probes and scrapes). */
const UNLOGGED = new Set(['/health', '/metrics']);

export function createFront(opts: FrontOptions): RequestHandler {
  const { metrics, headers, secureHeaders, draining } = opts;
  // Request lines hold only the id, method, URL (token values already cut out), status and
  // time: no field to redact, so they skip pino's redaction walk (half the cost of a line).
  const requestLines = opts.logger.child({}, { redact: { paths: [], censor: '[redacted]' } });

  function onClose(this: Timed): void {
    const res = this as Timed & Response;
    const req = res.req;
    const ms = performance.now() - (res[STARTED] ?? 0);
    const named: unknown = res.locals['route'];
    const routePath = (req.route as { path?: unknown } | undefined)?.path;
    const route = typeof named === 'string' ? named : typeof routePath === 'string' ? routePath : 'unmatched';
    metrics.observeRequest(req.method, route, res.statusCode, ms / 1000);
    if (!UNLOGGED.has(req.originalUrl)) logRequest(requestLines, req, res.statusCode, ms, res.writableFinished);
  }

  const route = (req: Request, res: Response, next: NextFunction): void => {
    if (isMalformedUrl(req.url)) {
      next(malformedUrl());
      return;
    }
    if (draining()) {
      res.setHeader('Connection', 'close');
      sendProblem(res, serviceUnavailable('The server is shutting down; retry on another instance.', 1));
      return;
    }
    next();
  };

  return (req, res, next) => {
    (res as Timed)[STARTED] = performance.now();
    const id = requestIdOf(req.headers['x-request-id']);
    req.id = id;
    res.setHeader('X-Request-Id', id);
    for (const [k, v] of headers) res.setHeader(k, v);
    if (req.secure) for (const [k, v] of secureHeaders) res.setHeader(k, v);
    res.on('close', onClose);
    if (opts.cors.always || req.method === 'OPTIONS') {
      opts.cors.middleware(req, res, (err?: unknown) => {
        if (err !== undefined) next(err);
        else route(req, res, next);
      });
      return;
    }
    route(req, res, next);
  };
}
