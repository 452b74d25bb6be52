/**
 * helmet's security headers, shared by the Express stack and the seat-map fast path.
 *
 * - No CSP `upgrade-insecure-requests`: over plain http by host address (not localhost) it
 *   sent /docs's scripts and styles to https, where nothing listens, and the page was blank.
 * - Strict-Transport-Security only on https requests: over http a browser ignores it, and
 *   behind a TLS-terminating proxy the request counts as https when the proxy is trusted
 *   (TRUST_PROXY) and says so in X-Forwarded-Proto.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import helmet from 'helmet';

/** Every response: helmet's defaults without `upgrade-insecure-requests` and without HSTS. */
export const securityHeaders = () =>
  helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } }, strictTransportSecurity: false });

/** Strict-Transport-Security as helmet sends it; for https requests only. */
export const strictTransportSecurity = () => helmet.strictTransportSecurity();

/**
 * Whether a raw request came over https, as Express's `req.secure` decides it (TLS socket, or
 * a trusted proxy's first X-Forwarded-Proto), for code that runs before Express.
 */
export function isHttps(req: IncomingMessage, trustProxy: (address: string, hop: number) => boolean): boolean {
  const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
  if (!trustProxy(req.socket.remoteAddress ?? '', 0)) return encrypted;
  const header = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(header) ? header[0] : header) ?? (encrypted ? 'https' : 'http');
  return proto.split(',')[0]?.trim() === 'https';
}
