/**
 * One definition per endpoint serves both sides: the zod schemas validate the request at
 * the edge and the same definitions are assembled into the OpenAPI document.
 */
import { Router as createRouter, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { forbidden, notFound, validationFailed, type FieldError } from '../domain/errors.ts';
import type { AuthUser } from '../domain/identity.ts';
import { AppError, unauthenticated } from './errors.ts';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
/** staff: the staff role (ushers) or admin. */
export type Access = 'public' | 'user' | 'staff' | 'admin' | 'optional';

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  /** Response headers it carries, by name from the document's components.headers (Location, ETag, …). */
  headers?: readonly string[];
}

export interface RouteDef<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: Method;
  /** Express path under the router's mount point, e.g. '/movies/:id'. */
  path: string;
  /** The OpenAPI operationId, a verb first: 'holdSeats', 'getSeatMap'. */
  operationId: string;
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
  /**
   * Answers carry `Cache-Control: no-store` (tokens, personal data). Default: true for the
   * routes that need a token ('user', 'staff', 'admin').
   */
  noStore?: boolean;
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

/**
 * Each first path segment ('/shows', '/bookings') gets a router of its own, mounted on
 * ctx.router: a request is matched against its segment's few routes instead of walking every
 * route of the API in turn (each a path-to-regexp test) — up to ~40 for the last ones.
 * Within a segment, routes keep the order they were defined in.
 */
const segmentRouters = new WeakMap<Router, Map<string, Router>>();
function mountPoint(root: Router, path: string): { router: Router; path: string } {
  const m = /^\/([A-Za-z0-9._~-]+)(\/.*)?$/.exec(path);
  if (m?.[1] === undefined) return { router: root, path };
  let bySegment = segmentRouters.get(root);
  if (bySegment === undefined) {
    bySegment = new Map();
    segmentRouters.set(root, bySegment);
  }
  let router = bySegment.get(m[1]);
  if (router === undefined) {
    router = createRouter();
    root.use(`/${m[1]}`, router);
    bySegment.set(m[1], router);
  }
  return { router, path: m[2] ?? '/' };
}

export interface RouteDoc {
  method: Method;
  path: string;
  def: RouteDef<z.ZodType, z.ZodType, z.ZodType>;
}

/** A problem lists at most this many field errors: a body with 10,000 unknown keys must not answer 500 KB. */
export const MAX_FIELD_ERRORS = 50;

export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = [], max = Infinity): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path].map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        if (out.length >= max) return out;
        out.push({ path: [...base, key].join('.'), message: 'Unknown field.' });
      }
    } else {
      if (out.length >= max) return out;
      out.push({ path: base.join('.'), message: issue.message });
    }
  }
  return out;
}

/** An array or object on the walk and how it was reached: the path is built from these only on a find. */
interface Visit {
  value: object;
  key: string;
  up: Visit | undefined;
}

const hasNul = (v: unknown) => typeof v === 'string' && v.includes('\u0000');
const isContainer = (v: unknown): v is object => typeof v === 'object' && v !== null;

/**
 * PostgreSQL text cannot hold NUL: such input is refused here, with its path, not at the
 * database. An explicit stack instead of recursion (no depth can overflow it or stall the
 * event loop; bodies are also refused past MAX_JSON_DEPTH before parsing), one allocation
 * per array or object only, and the path is built only for the value that holds a NUL.
 */
export function findNul(root: unknown, prefix: readonly string[]): string[] | undefined {
  if (hasNul(root)) return [...prefix];
  if (!isContainer(root)) return undefined;
  /** The root's own key is no part of any path. */
  const pathOf = (parent: Visit, key: string): string[] => {
    const keys = [key];
    for (let at = parent; at.up !== undefined; at = at.up) keys.push(at.key);
    return [...prefix, ...keys.reverse()];
  };
  const stack: Visit[] = [{ value: root, key: '', up: undefined }];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    if (Array.isArray(at.value)) {
      const items = at.value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (hasNul(item)) return pathOf(at, String(i));
        if (isContainer(item)) stack.push({ value: item, key: String(i), up: at });
      }
    } else {
      const record = at.value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (hasNul(key) || hasNul(item)) return pathOf(at, key);
        if (isContainer(item)) stack.push({ value: item, key, up: at });
      }
    }
  }
  return undefined;
}

function parseOrThrow<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> | undefined {
  if (schema === undefined) return undefined;
  // One path style for query and body alike: the field's own name (`limit`, `email`, `seatIds.0`).
  const nul = findNul(value, []);
  if (nul !== undefined) {
    if (where === 'params') throw notFound();
    throw validationFailed([{ path: nul.join('.'), message: 'Must not contain NUL characters.' }]);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (where === 'params') throw notFound();
  const errors = zodIssuesToFieldErrors(result.error.issues, [], MAX_FIELD_ERRORS + 1);
  if (errors.length > MAX_FIELD_ERRORS) {
    throw validationFailed(errors.slice(0, MAX_FIELD_ERRORS), `The request is not valid; the first ${MAX_FIELD_ERRORS} problems are listed.`);
  }
  throw validationFailed(errors);
}

/**
 * The methods the API answers on a path, for a 405's `Allow` (empty: no such path, a 404).
 * Only the not-found fallback calls it: no route that matches pays for it.
 */
export function allowedMethods(registry: readonly RouteDoc[]): (path: string) => string[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const byPattern = new Map<string, { re: RegExp; methods: Set<string> }>();
  for (const { method, path } of registry) {
    const source = `^${path.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : escape(part))).join('/')}/?$`;
    let entry = byPattern.get(source);
    if (entry === undefined) byPattern.set(source, (entry = { re: new RegExp(source), methods: new Set() }));
    entry.methods.add(method.toUpperCase());
    if (method === 'get') entry.methods.add('HEAD');
  }
  const entries = [...byPattern.values()];
  return (path) => {
    const methods = new Set<string>();
    for (const { re, methods: m } of entries) if (re.test(path)) for (const x of m) methods.add(x);
    return [...methods];
  };
}

/** Whether a route's answers carry `Cache-Control: no-store` (see RouteDef.noStore). */
export const noStoreOf = (def: Pick<RouteDef<z.ZodType, z.ZodType, z.ZodType>, 'noStore' | 'access'>): boolean =>
  def.noStore ?? (def.access === 'user' || def.access === 'staff' || def.access === 'admin');

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
  const noStore = noStoreOf(def);
  const run: RequestHandler = async (req: Request, res: Response, _next: NextFunction) => {
    res.locals['route'] = label;
    if (noStore) res.setHeader('Cache-Control', 'no-store');
    let user: AuthUser | undefined;
    if (def.access !== 'public') {
      user = await ctx.authenticate(req);
      if (user === undefined && def.access !== 'optional') throw unauthenticated();
      if (def.access === 'admin' && user?.role !== 'admin') throw forbidden('This needs the admin role.');
      if (def.access === 'staff' && user?.role !== 'staff' && user?.role !== 'admin') throw forbidden('This needs the staff or admin role.');
    }
    const params = parseOrThrow(def.params, req.params, 'params');
    // Express 5 parses req.query anew on every read: only read it when the route takes one.
    const query = def.query === undefined ? undefined : parseOrThrow(def.query, req.query, 'query');
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
  const at = mountPoint(ctx.router, def.path);
  at.router[def.method](at.path, ...(def.before ?? []), run);
}
