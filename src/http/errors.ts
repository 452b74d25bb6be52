/**
 * HTTP problems: an answer's status, code, title, detail, extra members and headers. Services
 * throw DomainErrors (src/domain/errors.ts), which problem.ts maps onto these; the factories
 * here are the failures only the HTTP edge can see (bad JSON, a bad URL, no token, 413, 415).
 */

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

export const malformedJson = (detail = 'The request body is not valid JSON.') =>
  new AppError(400, 'MALFORMED_JSON', 'Malformed JSON', detail, {
    errors: [{ path: '', message: detail }],
  });
/** A request target that is not valid percent-encoded UTF-8 (`/shows/%ZZ`, `?q=%E0%A4%A`). */
export const malformedUrl = () =>
  new AppError(400, 'MALFORMED_URL', 'Malformed URL', 'The URL is not validly percent-encoded UTF-8.');
export const unauthenticated = (detail = 'A valid access token is required.') =>
  new AppError(401, 'UNAUTHENTICATED', 'Unauthenticated', detail, {}, { 'WWW-Authenticate': 'Bearer' });
export const payloadTooLarge = (limit: string) =>
  new AppError(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', `The request body is larger than ${limit}.`);
export const unsupportedMediaType = () =>
  new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', 'Send the body as application/json.');
