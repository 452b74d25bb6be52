/**
 * One definition per endpoint serves both sides: the zod schemas validate the request at
 * the edge and the same definitions are assembled into the OpenAPI document.
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { AppError, forbidden, notFound, unauthenticated, validationFailed, type FieldError } from './errors.ts';
import type { AuthUser } from './auth.ts';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
export type Access = 'public' | 'user' | 'admin' | 'optional';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** Express path under the router's mount point, e.g. '/movies/:id'. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /** Extra request headers to document, e.g. Idempotency-Key. */
  headers?: Record<string, { description: string; required?: boolean }>;
  responses: Record<number, ResponseDoc>;
  /** Middleware that runs before authentication and validation (rate limits). */
  before?: RequestHandler[];
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  user: AuthUser | undefined;
}

/** Set by the auth middleware before any handler runs. */
export type Authenticate = (req: Request) => Promise<AuthUser | undefined>;

export interface RouteContext {
  router: Router;
  /** Mount point used in the OpenAPI document, e.g. '/api/v1'. */
  prefix: string;
  registry: RouteDoc[];
  authenticate: Authenticate;
}

export interface RouteDoc {
  method: Method;
  path: string;
  def: RouteDef<z.ZodType, z.ZodType, z.ZodType>;
}

export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path].map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...base, key].join('.'), message: 'Unknown field.' });
    } else {
      out.push({ path: base.join('.'), message: issue.message });
    }
  }
  return out;
}

/** PostgreSQL text cannot hold NUL: such input is refused here, with its path, not at the database. */
function findNul(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findNul(v, [...path, String(i)]);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const found = findNul(k, [...path, k]) ?? findNul(v, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}

function parseOrThrow<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> | undefined {
  if (schema === undefined) return undefined;
  const nul = findNul(value, where === 'body' ? [] : [where]);
  if (nul !== undefined) {
    if (where === 'params') throw notFound();
    throw validationFailed([{ path: nul.join('.'), message: 'Must not contain NUL characters.' }]);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (where === 'params') throw notFound();
  const errors = zodIssuesToFieldErrors(result.error.issues, where === 'body' ? [] : [where]);
  throw validationFailed(errors);
}

export function defineRoute<
  P extends z.ZodType = z.ZodUndefined,
  Q extends z.ZodType = z.ZodUndefined,
  B extends z.ZodType = z.ZodUndefined,
>(
  ctx: RouteContext,
  def: RouteDef<P, Q, B>,
  handler: (input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>, req: Request, res: Response) => Promise<void> | void,
): void {
  ctx.registry.push({ method: def.method, path: ctx.prefix + def.path, def: def });
  const label = ctx.prefix + def.path;
  const run: RequestHandler = async (req: Request, res: Response, _next: NextFunction) => {
    res.locals['route'] = label;
    let user: AuthUser | undefined;
    if (def.access !== 'public') {
      user = await ctx.authenticate(req);
      if (user === undefined && def.access !== 'optional') throw unauthenticated();
      if (def.access === 'admin' && user?.role !== 'admin') throw forbidden('This needs the admin role.');
    }
    const params = parseOrThrow(def.params, req.params, 'params');
    const query = parseOrThrow(def.query, req.query, 'query');
    let body: unknown;
    if (def.body !== undefined) {
      if (req.body === undefined && Number(req.headers['content-length'] ?? 0) > 0) {
        throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type', 'Send the body as application/json.');
      }
      body = parseOrThrow(def.body, req.body ?? {}, 'body');
    }
    await handler(
      { params: params as z.output<P>, query: query as z.output<Q>, body: body as z.output<B>, user },
      req,
      res,
    );
  };
  ctx.router[def.method](def.path, ...(def.before ?? []), run);
}
