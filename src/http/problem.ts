/** The one error handler: typed errors, body-parser errors and SQLSTATEs to problem+json. */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Response } from 'express';
import { isPgError } from '../db/pool.ts';
import { DomainError, serviceUnavailable, validationFailed, type ErrorKind } from '../domain/errors.ts';
import { AppError, malformedJson, malformedUrl, payloadTooLarge, unsupportedMediaType } from './errors.ts';

const kebab = (code: string) => code.toLowerCase().replaceAll('_', '-');

/** The one place a domain error's kind becomes an HTTP status. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 422,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payment: 402,
  rate_limited: 429,
  unavailable: 503,
};

/** A domain error as the HTTP problem it answers with (status from the kind, Retry-After from its hint). */
export function fromDomainError(err: DomainError): AppError {
  const headers = err.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(err.retryAfterSeconds) };
  return new AppError(STATUS_OF_KIND[err.kind], err.code, err.title, err.message, err.extra, headers);
}

export function sendProblem(res: Response, problem: AppError | DomainError): void {
  const err = problem instanceof DomainError ? fromDomainError(problem) : problem;
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res
    .status(err.status)
    .type('application/problem+json')
    .json({
      type: `https://marquee.dev/problems/${kebab(err.code)}`,
      title: err.title,
      status: err.status,
      detail: err.message,
      code: err.code,
      ...err.extra,
    });
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** The 4xx status an error carries (http-errors, body-parser, Express's router), if any. */
function clientStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const s = typeof status === 'number' ? status : statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 400 && s < 500 ? s : undefined;
}

/** zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR, brotli's ERR__ERROR_…): a body that does not inflate. */
function isDecompressionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(Z_|ERR__|ERR_BROTLI|ERR_ZSTD)/.test(code);
}

/** Any other 4xx: its status, with the standard reason phrase as title and code. */
function clientError(status: number): AppError {
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const code = title.toUpperCase().replace(/[^A-Z]+/g, '_').replace(/^_|_$/g, '');
  return new AppError(status, code, title, `${title}.`);
}

/** Connection-level failures: the database is down, restarting, or our connection was killed. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);
/** Lock, statement or serialization trouble: safe to retry a moment later. */
const RETRY_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014']);

export function toAppError(err: unknown, bodyLimit: string): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof DomainError) return fromDomainError(err);
  const bp = err as BodyParserError;
  if (bp instanceof Error && typeof bp.type === 'string') {
    switch (bp.type) {
      case 'entity.parse.failed':
        return malformedJson();
      case 'entity.too.large':
        return payloadTooLarge(bodyLimit);
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return unsupportedMediaType();
      case 'request.aborted':
        return malformedJson('The request body was cut short.');
      case 'entity.too.complex':
        return malformedJson(bp.message);
      default:
        if (typeof bp.status === 'number' && bp.status >= 400 && bp.status < 500) return malformedJson(bp.message);
    }
  }
  const status = clientStatus(err);
  if (status !== undefined) {
    // Express's router cannot decode a path parameter (`/shows/%ZZ`): a URIError with status 400.
    if (err instanceof URIError) return malformedUrl();
    // body-parser passes a Content-Encoding body that does not inflate on with status 400 and no type.
    if (isDecompressionError(err)) return malformedJson('The compressed request body is corrupt or cut short.');
    return clientError(status);
  }
  if (isPgError(err)) {
    const code = err.code ?? '';
    if (UNAVAILABLE_SQLSTATES.has(code) || RETRY_SQLSTATES.has(code)) return fromDomainError(serviceUnavailable());
    // A unique or exclusion constraint that a service did not translate itself is still a conflict.
    if (code === '23505' || code === '23P01') return new AppError(409, 'CONFLICT', 'Conflict', 'This conflicts with existing data.');
    if (['22P02', '22007', '22008', '22003', '22021', '22P05', '22001', '23514'].includes(code)) {
      // Input that slipped past validation and that the database refused: still the client's fault.
      return fromDomainError(validationFailed([{ path: '', message: 'A value is out of range or malformed.' }]));
    }
  }
  if (err instanceof Error) {
    const msg = err.message;
    if (
      /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET|Client has encountered a connection error|the database system is (starting up|shutting down)|Cannot use a pool after calling end/i.test(
        msg,
      )
    ) {
      return fromDomainError(serviceUnavailable());
    }
  }
  return undefined;
}

export function errorHandler(bodyLimit: string): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = toAppError(err, bodyLimit);
    if (known !== undefined) {
      // Overload answers are expected under a rush: one short line, no stack.
      if (known.status >= 500) req.log.warn({ code: known.code, cause: err instanceof Error ? err.message : String(err) }, 'request failed: %s', known.code);
      sendProblem(res, known);
      return;
    }
    req.log.error({ err }, 'unhandled error');
    sendProblem(res, new AppError(500, 'INTERNAL', 'Internal server error', `Something went wrong on our side. Quote request id ${typeof req.id === 'string' || typeof req.id === 'number' ? req.id : ''} when reporting it.`));
  };
}
