/**
 * A leaner `res.json` for this app's responses (installed on `app.response`, Express's
 * per-app response prototype, so every route and the error handler use it unchanged).
 *
 * Express 5's own `res.json` goes through `res.send`: three settings lookups, a mime-types
 * lookup and a content-type parse and re-format to add the charset, a freshness check, and a
 * second pass over the body to compute its length. For a plain JSON answer, with no ETag or
 * Last-Modified (ETags are off in this app), that is ~20–30 µs of a ~110 µs hello-world
 * (measured with bench/children/floor-server.ts). This one writes the same answer: the
 * status already set, `Content-Type: application/json; charset=utf-8` unless a type was set
 * (problem+json, which gets the charset as Express adds it), `Content-Length`, the body.
 * Anything unusual (an ETag or Last-Modified to check freshness against, a 204/304, an
 * undefined body) goes to Express's own.
 */
import type { Response } from 'express';

export function installLeanJson(appResponse: Response): void {
  const original = appResponse.json as unknown as (this: Response, body: unknown) => Response;
  appResponse.json = function json(this: Response, body: unknown): Response {
    if (body === undefined || this.statusCode === 204 || this.statusCode === 304 || this.hasHeader('ETag') || this.hasHeader('Last-Modified')) {
      return original.call(this, body);
    }
    const text = JSON.stringify(body);
    const type = this.getHeader('Content-Type');
    if (type === undefined) this.setHeader('Content-Type', 'application/json; charset=utf-8');
    else if (typeof type === 'string' && !type.includes('charset=')) this.setHeader('Content-Type', `${type}; charset=utf-8`);
    this.setHeader('Content-Length', Buffer.byteLength(text));
    this.end(text);
    return this;
  } as Response['json'];
}
