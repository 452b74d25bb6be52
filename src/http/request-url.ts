/**
 * A request target that is not valid percent-encoded UTF-8 (`/shows/%ZZ`, `/screens/%E0%A4%A`,
 * `?city=%`) answers 400 MALFORMED_URL on every path and method, before any route, static
 * file or query parser reads it. The front middleware (front.ts) runs this check; a target
 * without `%` (nearly all of them) costs one `includes`. (OPTIONS is answered by CORS first.)
 */
export function isMalformedUrl(url: string): boolean {
  if (!url.includes('%')) return false;
  try {
    decodeURIComponent(url);
    return false;
  } catch {
    return true;
  }
}
