/**
 * Request ids and request logs, without a child logger per request.
 *
 * Every request gets an id (X-Request-Id when it is sane, else a random UUID), echoed in the
 * response and carried by every log line about it. When the response ends, one line is
 * written: `{req: {id, method, url}, res: {statusCode}, responseTime}` with the message
 * `request completed` (or `request aborted`), at level info, warn for a 503 and error for
 * other 5xx — the shape pino-http wrote, so log queries keep working. `req.log` is a child
 * logger bound to the same `req` fields, made only when something logs through it (errors,
 * warnings): pino-http made one for every request, and that was most of its cost.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Logger } from 'pino';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (X-Request-Id), set by the front middleware before any route runs. */
    id: string;
    /** A logger whose lines carry `req: {id, method, url}`; made on first use. */
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Query values that are secrets (a token in a link): redacted in every logged URL. */
const SECRET_QUERY = /([?&](?:token|refreshToken)=)[^&]*/gi;

/** The client's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The URL as logged: token query values redacted. */
export function loggedUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

/** What a request's log lines say about it. */
export function reqBindings(req: Request): { id: string; method: string; url: string } {
  return { id: req.id, method: req.method, url: loggedUrl(req.originalUrl) };
}

export function levelOf(status: number): 'info' | 'warn' | 'error' {
  return status === 503 ? 'warn' : status >= 500 ? 'error' : 'info';
}

/**
 * Gives every request of this Express app a lazy `req.log` (a getter on the app's request
 * prototype, so nothing is allocated for requests that never log through it).
 */
export function installRequestLogger(appRequest: object, logger: Logger): void {
  const cached = Symbol('req.log');
  Object.defineProperty(appRequest, 'log', {
    configurable: true,
    get(this: Request & { [cached]?: Logger }): Logger {
      return (this[cached] ??= logger.child({ req: reqBindings(this) }));
    },
  });
}

/** The one line written when a response ends. */
export function logRequest(logger: Logger, req: Request, status: number, ms: number, finished: boolean): void {
  logger[levelOf(status)](
    { req: reqBindings(req), res: { statusCode: status }, responseTime: Math.round(ms * 100) / 100 },
    finished ? 'request completed' : 'request aborted',
  );
}
