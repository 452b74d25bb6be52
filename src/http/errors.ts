/**
 * Typed errors with stable machine codes. Services throw these; the one error handler
 * turns them (and SQLSTATEs) into RFC 9457 problem+json.
 */
export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export const validationFailed = (errors: FieldError[], detail = 'The request is not valid.') =>
  new AppError(422, 'VALIDATION_FAILED', 'Validation failed', detail, { errors });
export const malformedJson = (detail = 'The request body is not valid JSON.') =>
  new AppError(400, 'MALFORMED_JSON', 'Malformed JSON', detail, {
    errors: [{ path: '', message: detail }],
  });
/** A request target that is not valid percent-encoded UTF-8 (`/shows/%ZZ`, `?q=%E0%A4%A`). */
export const malformedUrl = () =>
  new AppError(400, 'MALFORMED_URL', 'Malformed URL', 'The URL is not validly percent-encoded UTF-8.');
export const unauthenticated = (detail = 'A valid access token is required.') =>
  new AppError(401, 'UNAUTHENTICATED', 'Unauthenticated', detail, {}, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (detail = 'You may not do this.') => new AppError(403, 'FORBIDDEN', 'Forbidden', detail);
export const notFound = (what = 'resource') => new AppError(404, 'NOT_FOUND', 'Not found', `No such ${what}.`);
export const conflict = (code: string, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new AppError(409, code, title, detail, extra);
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError(
    429,
    'RATE_LIMITED',
    'Too many requests',
    `Too many attempts; try again in ${retryAfterSeconds} seconds.`,
    {},
    { 'Retry-After': String(retryAfterSeconds) },
  );
export const serviceUnavailable = (detail = 'The service is busy or its database is unreachable; retry shortly.', retryAfterSeconds = 2) =>
  new AppError(503, 'SERVICE_UNAVAILABLE', 'Service unavailable', detail, {}, { 'Retry-After': String(retryAfterSeconds) });
export const payloadTooLarge = (limit: string) =>
  new AppError(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', `The request body is larger than ${limit}.`);
export const unsupportedMediaType = () =>
  new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', 'Send the body as application/json.');
