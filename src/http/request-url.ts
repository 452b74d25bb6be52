/**
 * A request target that is not valid percent-encoded UTF-8 (`/shows/%ZZ`, `/screens/%E0%A4%A`,
 * `?city=%`) answers 400 MALFORMED_URL on every path and method, before any route, static
 * file or query parser reads it. (The seat-map fast path never sees one: it only matches
 * paths without `%`. OPTIONS is answered by CORS before this runs.)
 */
import type { RequestHandler } from 'express';
import { malformedUrl } from './errors.ts';

export function isMalformedUrl(url: string): boolean {
  if (!url.includes('%')) return false;
  try {
    decodeURIComponent(url);
    return false;
  } catch {
    return true;
  }
}

export const rejectMalformedUrl: RequestHandler = (req, _res, next) => {
  next(isMalformedUrl(req.url) ? malformedUrl() : undefined);
};
