/**
 * createApp(deps): middleware, feature routers, 404 and the one error handler. No
 * listening, no process concerns: main.ts and the tests both build on this.
 */
import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import swaggerUi from 'swagger-ui-express';
import type { Config } from './config.ts';
import type { Db } from './db/pool.ts';
import { authRoutes } from './features/auth/routes.ts';
import { createAuthService } from './features/auth/service.ts';
import { createSessionCache } from './features/auth/sessions.ts';
import { createTokens } from './features/auth/tokens.ts';
import { movieRoutes } from './features/movies/routes.ts';
import { createMovieService } from './features/movies/service.ts';
import { showRoutes } from './features/shows/routes.ts';
import { createShowService } from './features/shows/service.ts';
import { theatreRoutes } from './features/theatres/routes.ts';
import { createTheatreService } from './features/theatres/service.ts';
import { bookingRoutes } from './features/bookings/routes.ts';
import { createBookingService } from './features/bookings/service.ts';
import { createSimulatedProvider, type PaymentProvider } from './features/payments/provider.ts';
import { createPaymentService } from './features/payments/service.ts';
import { webhookRoutes } from './features/payments/webhook.ts';
import { createSeatEventHub } from './features/shows/seat-events.ts';
import { createTicketCodec, ticketSigningKey } from './features/tickets/codes.ts';
import { ticketRoutes } from './features/tickets/routes.ts';
import { createTicketService } from './features/tickets/service.ts';
import { createAuthenticate } from './http/auth.ts';
import { keepRawBody } from './http/raw-body.ts';
import { serviceUnavailable } from './domain/errors.ts';
import { AppError } from './http/errors.ts';
import { corsOptions, createFront } from './http/front.ts';
import { installLeanJson } from './http/json-response.ts';
import { installRequestLogger } from './http/request-log.ts';
import { headersSetBy, securityHeaders, strictTransportSecurity } from './http/security-headers.ts';
import { createMetrics } from './http/metrics.ts';
import { webAppRoutes } from './http/web-app.ts';
import { buildOpenApi } from './http/openapi.ts';
import { errorHandler, sendProblem } from './http/problem.ts';
import { allowedMethods, type RouteContext, type RouteDoc } from './http/route.ts';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  /** The payment provider; the simulated one unless given. */
  payments?: PaymentProvider;
}

export function createApp(deps: AppDeps) {
  const { config, db, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  installLeanJson(app.response);

  const metrics = createMetrics(db.pool);
  const tokens = createTokens(config.jwtSecret, config.accessTokenTtlSeconds);
  const sessions = createSessionCache({ db, accessTtlSeconds: config.accessTokenTtlSeconds, logger });
  const auth = createAuthService({ db, tokens, sessions, refreshTtlDays: config.refreshTokenTtlDays });
  const movies = createMovieService(db);
  const theatres = createTheatreService(db);
  const hub = createSeatEventHub(db.url, logger);
  const shows = createShowService({ db, currency: config.currency, cleaningMinutes: config.showCleaningMinutes, hub });
  const payments = deps.payments ?? createSimulatedProvider({ latencyMs: config.paymentSimLatencyMs });
  const paymentService = createPaymentService({ db, provider: payments, timeoutMs: config.paymentTimeoutMs, logger });
  const ticketCodes = createTicketCodec(ticketSigningKey({ ticketSigningSecret: config.ticketSigningSecret, jwtSecret: config.jwtSecret }));
  const tickets = createTicketService({ db, codec: ticketCodes });
  const bookings = createBookingService({
    db,
    payments: paymentService,
    shows,
    ticketCodes,
    holdTtlSeconds: config.holdTtlSeconds,
    maxPendingHoldsPerUser: config.maxPendingHoldsPerUser,
    maxSeatsPerUserPerShow: config.maxSeatsPerUserPerShow,
    reholdCooldownSeconds: config.reholdCooldownSeconds,
    seatLockWaitMs: config.db.lockTimeoutMs,
    metrics,
    logger,
  });
  shows.setOnCancelled(
    async (client, showId) => {
      await bookings.cancelBookingsOfShow(client, showId);
    },
    async (showId) => {
      await paymentService.refund({ showId });
    },
  );
  const streams = new Set<() => void>();
  let draining = false;

  // Everything before routing, in one middleware (src/http/front.ts, ADR 0015): request id,
  // helmet's headers computed once (HSTS only over https), CORS, metrics and the request log
  // on one listener, the URL check and the drain guard.
  installRequestLogger(app.request, logger);
  const anyOrigin = config.corsOrigins === '*';
  const corsMiddleware = cors(corsOptions(config.corsOrigins));
  app.use(
    createFront({
      logger,
      metrics,
      // With CORS_ORIGINS=* a simple request's CORS headers are constant too.
      headers: [...securityHeaders(), ...(anyOrigin ? headersSetBy(corsMiddleware) : [])],
      secureHeaders: strictTransportSecurity(),
      cors: { middleware: corsMiddleware, always: !anyOrigin },
      draining: () => draining,
    }),
  );

  const registry: RouteDoc[] = [];
  const api = express.Router();
  // JSON bodies are read before routing (a body that is too deep, too large or corrupt is a
  // 400/413 on any path), but never for GET: reads skip body-parser altogether.
  const parseJson: RequestHandler = express.json({ limit: config.bodyLimit, type: ['application/json', 'application/*+json'], strict: false, verify: keepRawBody });
  api.use((req, res, next) => {
    if (req.method === 'GET') next();
    else parseJson(req, res, next);
  });
  const ctx: RouteContext = {
    router: api,
    prefix: '/api/v1',
    registry,
    authenticate: createAuthenticate((token) => auth.authenticate(token)),
  };
  authRoutes(ctx, auth, { loginRateLimitPerMinute: config.authRateLimitPerMinute, registerRateLimitPerHour: config.registerRateLimitPerHour });
  movieRoutes(ctx, movies);
  theatreRoutes(ctx, theatres);
  showRoutes(ctx, shows, hub, { heartbeatMs: config.sseHeartbeatMs, streams });
  bookingRoutes(ctx, bookings);
  ticketRoutes(ctx, tickets);
  webhookRoutes(ctx, paymentService, config.paymentWebhookSecret);
  app.use('/api/v1', api);

  // Operations, outside /api/v1 (mounted after it: API requests do not test these paths first).
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    try {
      await Promise.race([
        db.pool.query('SELECT 1'),
        new Promise((_resolve, reject) => setTimeout(() => reject(new Error('readiness check timed out')), 2000).unref()),
      ]);
      res.json({ status: 'ready' });
    } catch {
      sendProblem(res, serviceUnavailable('The database does not answer.'));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const openapi = buildOpenApi(registry, {
    title: 'Marquee API',
    version: '1.0.0',
    description: 'Cinema ticket booking that never sells a seat twice. Errors are RFC 9457 problem+json with a stable `code`.',
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use(
    '/docs',
    swaggerUi.serveFiles(openapi),
    swaggerUi.setup(openapi, { customSiteTitle: 'Marquee API reference' }),
  );

  // The web app: the booking pages at /, the door page at /door (web/, built into dist/web).
  app.use(webAppRoutes());

  // A path the API has, asked with another method: 405 with Allow (OPTIONS is CORS's, in front).
  const allowedOn = allowedMethods(registry);
  app.use((req: Request, res: Response) => {
    const allowed = allowedOn(req.path);
    if (allowed.length > 0) {
      const allow = allowed.join(', ');
      sendProblem(res, new AppError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed', `${req.method} is not allowed on ${req.path}; use ${allow}.`, {}, { Allow: allow }));
      return;
    }
    sendProblem(res, new AppError(404, 'NOT_FOUND', 'Not found', `No route for ${req.method} ${req.path}.`));
  });
  app.use(errorHandler(config.bodyLimit));

  /** The server's request listener. */
  const handler: RequestListener = app;

  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  const startSweeper = () => {
    if (config.expirySweepIntervalMs === 0) return;
    sweeper = setInterval(() => {
      if (sweeping !== undefined) return;
      sweeping = bookings
        .sweep()
        .catch((err: unknown) => logger.warn({ err }, 'expiry sweep failed; will retry'))
        .finally(() => {
          sweeping = undefined;
        });
    }, config.expirySweepIntervalMs);
    sweeper.unref();
  };

  return {
    app,
    handler,
    services: { auth, tokens, sessions, movies, theatres, shows, bookings, tickets, ticketCodes, payments, paymentService, hub },
    metrics,
    openapi,
    /**
     * One-time start-up work that needs the database: the ADMIN_EMAIL account. Throws a
     * ConfigError when ADMIN_EMAIL names an existing non-admin and ADMIN_PROMOTE_EXISTING is off.
     */
    async init(): Promise<void> {
      if (config.admin !== undefined) {
        const outcome = await auth.ensureAdmin(config.admin);
        const log = outcome === 'promoted' || outcome === 'password changed' ? logger.warn.bind(logger) : logger.info.bind(logger);
        log({ email: config.admin.email, outcome }, `admin account ready (${outcome})`);
      }
      startSweeper();
    },
    /** Shutdown, first step: refuse new requests and end the live streams. */
    drain(): void {
      draining = true;
      for (const end of [...streams]) end();
    },
    /** Stops background work (sweep, LISTEN). The caller closes the pool afterwards. */
    async close(): Promise<void> {
      draining = true;
      for (const end of [...streams]) end();
      if (sweeper !== undefined) clearInterval(sweeper);
      await sweeping;
      await hub.close();
      await sessions.close();
    },
  };
}

export type App = ReturnType<typeof createApp>;
