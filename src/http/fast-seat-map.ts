/**
 * The seat map is the most-read endpoint on a busy night. When this process holds a valid
 * cached map, GET /api/v1/shows/:id/seats is answered straight from node:http with the
 * precomputed bytes, ETag and the same headers the full stack sends, before Express and its
 * middleware run; everything else (a miss, a query string, another origin under a CORS
 * allow-list, shutdown) falls through to the full stack, which fills the cache.
 * Requests served here are counted in the metrics but not logged one by one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SeatMapWithTag } from '../features/shows/service.ts';
import { securityHeaders, strictTransportSecurity } from './security-headers.ts';

/** Hex digits and dashes only: a URL with `%` (malformed escapes included) never matches and gets the full stack's answer. */
const PATH = /^\/api\/v1\/shows\/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\/seats$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** The headers a helmet middleware sets (the same as the full stack's), captured once from a stand-in response. */
function helmetHeaders(middleware: Middleware): [string, string][] {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (k: string, v: unknown) => headers.set(k, String(v)),
    removeHeader: (k: string) => headers.delete(k),
    getHeader: (k: string) => headers.get(k),
  };
  middleware({} as unknown as IncomingMessage, res as unknown as ServerResponse, () => undefined);
  return [...headers];
}

export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

export function createSeatMapFastPath(opts: {
  cached: (showId: string) => SeatMapWithTag | undefined;
  draining: () => boolean;
  /** CORS configured as '*': the full stack would answer any origin the same way. */
  anyOrigin: boolean;
  exposedHeaders: string;
  record: (status: number, seconds: number) => void;
  /** Whether the request came over https (as req.secure decides it): HSTS is sent only then. */
  https: (req: IncomingMessage) => boolean;
}) {
  const fixed = helmetHeaders(securityHeaders());
  const hsts = helmetHeaders(strictTransportSecurity());
  if (opts.anyOrigin) fixed.push(['Access-Control-Allow-Origin', '*'], ['Access-Control-Expose-Headers', opts.exposedHeaders]);
  fixed.push(['Cache-Control', 'no-cache']);

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    // With a CORS allow-list the full stack varies its answer by Origin: leave it to Express.
    if (!opts.anyOrigin || req.method !== 'GET' || opts.draining()) return false;
    const url = req.url ?? '';
    if (url.length !== 55 && url.length !== 56) return false; // '/api/v1/shows/' + 36 + '/seats'
    const m = PATH.exec(url);
    if (m?.[1] === undefined) return false;
    const entry = opts.cached(m[1].toLowerCase());
    if (entry === undefined) return false;

    const started = process.hrtime.bigint();
    for (const [k, v] of fixed) res.setHeader(k, v);
    if (opts.https(req)) for (const [k, v] of hsts) res.setHeader(k, v);
    const incoming = req.headers['x-request-id'];
    res.setHeader('X-Request-Id', typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID());
    res.setHeader('ETag', entry.etag);
    if (matchesEtag(req.headers['if-none-match'], entry.etag)) {
      res.statusCode = 304;
      res.end();
    } else {
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', entry.body.length);
      res.end(entry.body);
    }
    opts.record(res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    return true;
  };
}
