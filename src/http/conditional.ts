/**
 * Answers from bytes that were serialized once (the seat-map cache): a strong ETag,
 * `Cache-Control: no-cache` (clients revalidate, and get 304 while nothing changed), and the
 * body written as is with its length, no re-serialization and no Express `res.send` pass
 * (content-type negotiation, a freshness check, a Buffer copy).
 */
import type { Request, Response } from 'express';

/** Whether an If-None-Match header names this ETag (weak comparison, `*` matches). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** 200 with the JSON bytes, or 304 when the client already has them. */
export function sendTaggedJson(req: Request, res: Response, entry: { body: Buffer; etag: string }): void {
  res.setHeader('ETag', entry.etag);
  res.setHeader('Cache-Control', 'no-cache');
  if (matchesEtag(req.headers['if-none-match'], entry.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', entry.body.length);
  res.end(entry.body);
}
