/**
 * helmet's security headers, computed once at start-up and applied by the front middleware
 * (front.ts) with one loop over a fixed list: helmet's own middleware chain (a dozen small
 * middlewares, each re-deciding the same constant header) cost several µs per request for
 * the same result.
 *
 * - No CSP `upgrade-insecure-requests`: over plain http by host address (not localhost) it
 *   sent /docs's scripts and styles to https, where nothing listens, and the page was blank.
 * - Strict-Transport-Security only on https requests: over http a browser ignores it, and
 *   behind a TLS-terminating proxy the request counts as https when the proxy is trusted
 *   (TRUST_PROXY) and says so in X-Forwarded-Proto (Express's `req.secure`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export type HeaderList = readonly (readonly [name: string, value: string])[];

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** helmet's options: its defaults without `upgrade-insecure-requests` and without HSTS. */
export const securityHeaderMiddleware = () =>
  helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } }, strictTransportSecurity: false });

/** Strict-Transport-Security as helmet sends it. */
export const strictTransportSecurityMiddleware = () => helmet.strictTransportSecurity();

/**
 * The headers a middleware sets, run once against a stand-in response. helmet's are constant:
 * they depend on its options only, never on the request.
 */
export function headersSetBy(middleware: Middleware): HeaderList {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (k: string, v: unknown) => headers.set(k, String(v)),
    removeHeader: (k: string) => headers.delete(k),
    getHeader: (k: string) => headers.get(k),
  };
  let called = false;
  middleware({ headers: {} } as unknown as IncomingMessage, res as unknown as ServerResponse, () => {
    called = true;
  });
  if (!called) throw new Error('the header middleware did not call next() synchronously');
  return [...headers];
}

/** Every response's security headers. */
export const securityHeaders = (): HeaderList => headersSetBy(securityHeaderMiddleware());

/** Added to responses to https requests. */
export const strictTransportSecurity = (): HeaderList => headersSetBy(strictTransportSecurityMiddleware());
