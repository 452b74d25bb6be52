/**
 * Hash routing (`#/shows/<id>`, `#/bookings`, `#/signin?next=…`): every page is index.html,
 * so the server needs no fallback routes, and reloads and the back button just work.
 */

export interface Route {
  /** The path segments: `#/shows/abc` → ['shows', 'abc']; `#/` → []. */
  path: string[];
  query: URLSearchParams;
  /** The whole hash, to come back to (`#/shows/abc`). */
  hash: string;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [pathPart = '/', queryPart = ''] = raw.split('?', 2);
  const path = pathPart
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { path, query: new URLSearchParams(queryPart), hash: `#${raw}` };
}

/** A link to a page: href('/shows/' + id), href('/', { city: 'London' }) (empty values left out). */
export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const qs = params.toString();
  return `#${path}${qs === '' ? '' : `?${qs}`}`;
}

export function go(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** A `next` target from the query string, only ever a page of this app. */
export function nextTarget(query: URLSearchParams, fallback = '#/'): string {
  const next = query.get('next');
  return next !== null && /^#\/[^\s]*$/.test(next) ? next : fallback;
}

/** Where a page that needs a sign-in sends a signed-out visitor: sign in, then back here. */
export const signInFirst = (route: Route): string => href('/signin', { next: route.hash });
