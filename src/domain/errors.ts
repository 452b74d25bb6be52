/**
 * Domain errors: what went wrong, in the words of the service that found it, with a stable
 * machine `code` and a `kind`. Services throw these and know nothing of HTTP; the one error
 * handler (src/http/problem.ts) maps the kind to a status through one table and writes the
 * problem+json answer. This module imports nothing of the application.
 */

/** What sort of failure this is; src/http/problem.ts owns the status each kind becomes. */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payment'
  | 'rate_limited'
  | 'unavailable';

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    /** Stable machine code clients branch on, e.g. SEATS_UNAVAILABLE. */
    readonly code: string,
    /** Short human title of the code. */
    readonly title: string,
    detail?: string,
    /** Extra members of the answer, e.g. `{ unavailableSeatIds }`. */
    readonly extra: Record<string, unknown> = {},
    /** When the same call may succeed again (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail ?? title);
  }
}

export const validationFailed = (errors: FieldError[], detail = 'The request is not valid.') =>
  new DomainError('invalid', 'VALIDATION_FAILED', 'Validation failed', detail, { errors });
export const forbidden = (detail = 'You may not do this.') => new DomainError('forbidden', 'FORBIDDEN', 'Forbidden', detail);
export const notFound = (what = 'resource') => new DomainError('not_found', 'NOT_FOUND', 'Not found', `No such ${what}.`);
export const conflict = (code: string, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new DomainError('conflict', code, title, detail, extra);
export const rateLimited = (retryAfterSeconds: number) =>
  new DomainError('rate_limited', 'RATE_LIMITED', 'Too many requests', `Too many attempts; try again in ${retryAfterSeconds} seconds.`, {}, retryAfterSeconds);
export const serviceUnavailable = (detail = 'The service is busy or its database is unreachable; retry shortly.', retryAfterSeconds = 2) =>
  new DomainError('unavailable', 'SERVICE_UNAVAILABLE', 'Service unavailable', detail, {}, retryAfterSeconds);
