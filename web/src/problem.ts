/**
 * API errors as people read them. Every error the API sends is RFC 9457 problem+json with a
 * `detail` written for humans; pages show that detail (and per-field errors beside their field).
 */

export interface Problem {
  status: number;
  code: string | undefined;
  title: string;
  detail: string;
  /** VALIDATION_FAILED: the bad fields, by path (`email`, `seatIds.0`). */
  errors: { path: string; message: string }[];
  /** SEATS_UNAVAILABLE: the seats someone else holds or bought. */
  unavailableSeatIds: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The problem of a failed openapi-fetch call (its `error` and `response`). */
export function problemOf(error: unknown, response: Response): Problem {
  const body = typeof error === 'object' && error !== null ? error : {};
  const title = ('title' in body ? str(body.title) : undefined) ?? (response.statusText || `HTTP ${response.status}`);
  const errors =
    'errors' in body && Array.isArray(body.errors)
      ? body.errors.flatMap((e: unknown) =>
          typeof e === 'object' && e !== null && 'path' in e && 'message' in e && typeof e.path === 'string' && typeof e.message === 'string'
            ? [{ path: e.path, message: e.message }]
            : [],
        )
      : [];
  const unavailable =
    'unavailableSeatIds' in body && Array.isArray(body.unavailableSeatIds)
      ? body.unavailableSeatIds.filter((id: unknown): id is string => typeof id === 'string')
      : [];
  return {
    status: response.status,
    code: 'code' in body ? str(body.code) : undefined,
    title,
    detail: ('detail' in body ? str(body.detail) : undefined) ?? `${title} (HTTP ${response.status}).`,
    errors,
    unavailableSeatIds: unavailable,
  };
}

/** A failed API call, thrown by ok() so a page can show it. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
  }
}

/** The data of a successful openapi-fetch call, or an ApiError with the problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  throw new ApiError(problemOf(result.error, result.response));
}

/** What to tell the user about any error: the problem's detail, or that the server is out of reach. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.problem.detail;
  if (err instanceof TypeError) return 'Marquee could not be reached. Check your connection and try again.';
  return err instanceof Error ? err.message : String(err);
}
