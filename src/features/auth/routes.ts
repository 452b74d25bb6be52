import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import { rateLimited } from '../../domain/errors.ts';
import { sendProblem } from '../../http/problem.ts';
import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, problem } from '../../http/schemas.ts';
import { authResponse, loginBody, refreshBody, registerBody, userPatchBody, userSchema } from './schemas.ts';
import type { AuthService } from './service.ts';

/** The client address as Express resolved it (TRUST_PROXY), IPv6 grouped by /56. */
const addressKey = (req: Request) => ipKeyGenerator(req.ip ?? 'unknown');

/** The account a login names, normalised as the login schema does (trimmed, lower case). */
function accountKey(req: Request): string {
  const body: unknown = req.body;
  const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['email'] : undefined;
  return typeof raw === 'string' ? raw.trim().toLowerCase() : '';
}

/**
 * One counter (in this process's memory) of requests per key and window; past the limit,
 * 429 RATE_LIMITED with Retry-After (the seconds until this key's window ends).
 * onlyFailedLogins: a request counts only when it answers 401.
 */
function limiter(o: { name: string; windowMs: number; limit: number; key: (req: Request) => string; onlyFailedLogins?: boolean }): RequestHandler {
  const property = `rateLimit_${o.name}`;
  return rateLimit({
    windowMs: o.windowMs,
    limit: o.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    requestPropertyName: property,
    ...(o.onlyFailedLogins === true ? { skipSuccessfulRequests: true, requestWasSuccessful: (_req: Request, res: Response) => res.statusCode !== 401 } : {}),
    keyGenerator: (req: Request) => `${o.name}:${o.key(req)}`,
    handler: (req: Request, res: Response) => {
      const info = (req as unknown as Record<string, RateLimitInfo | undefined>)[property];
      const reset = info?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : Math.ceil(o.windowMs / 1000);
      sendProblem(res, rateLimited(seconds));
    },
  });
}

/**
 * Failed logins (401 answers; nothing else counts) per minute: perMinute per account
 * (normalised email) from any number of addresses, and ten times that per client address
 * across any number of accounts. 0 turns both off. The address is req.ip, which believes
 * X-Forwarded-For only as far as TRUST_PROXY says (never blindly).
 */
function loginLimiter(perMinute: number): RequestHandler[] {
  if (perMinute === 0) return [];
  return [
    limiter({ name: 'login-address', windowMs: 60_000, limit: perMinute * 10, key: addressKey, onlyFailedLogins: true }),
    limiter({ name: 'login-account', windowMs: 60_000, limit: perMinute, key: accountKey, onlyFailedLogins: true }),
  ];
}

/** Registration attempts per hour per client address; 0 turns it off. */
function registerLimiter(perHour: number): RequestHandler[] {
  if (perHour === 0) return [];
  return [limiter({ name: 'register-address', windowMs: 3_600_000, limit: perHour, key: addressKey })];
}

export function authRoutes(ctx: RouteContext, auth: AuthService, opts: { loginRateLimitPerMinute: number; registerRateLimitPerHour: number }): void {
  const tag = 'Auth';
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/register',
      operationId: 'register',
      noStore: true,
      tag,
      summary: 'Create a customer account and sign in',
      access: 'public',
      body: registerBody,
      before: registerLimiter(opts.registerRateLimitPerHour),
      responses: {
        201: { description: 'Signed up', schema: authResponse },
        409: problem('EMAIL_TAKEN'),
        422: problem('VALIDATION_FAILED'),
        429: problem('RATE_LIMITED, with Retry-After: more than REGISTER_RATE_LIMIT_PER_HOUR registration attempts from this client address within the hour'),
      },
    },
    async ({ body }, _req, res) => {
      res.status(201).json(await auth.register(body));
    },
  );

  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      noStore: true,
      tag,
      summary: 'Sign in with email and password',
      access: 'public',
      body: loginBody,
      before: loginLimiter(opts.loginRateLimitPerMinute),
      responses: {
        200: { description: 'Signed in', schema: authResponse },
        401: problem('INVALID_CREDENTIALS, for an unknown email and a wrong password alike'),
        429: problem(
          'RATE_LIMITED, with Retry-After: more than AUTH_RATE_LIMIT_PER_MINUTE failed logins for this account, or ten times that from this client address, within the minute',
        ),
      },
    },
    async ({ body }, _req, res) => {
      res.json(await auth.login(body));
    },
  );

  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refreshTokens',
      noStore: true,
      tag,
      summary: 'Trade a refresh token for a new pair (rotation; reuse revokes the sign-in)',
      access: 'public',
      body: refreshBody,
      responses: { 200: { description: 'A new token pair', schema: authResponse }, 401: problem('UNAUTHENTICATED') },
    },
    async ({ body }, _req, res) => {
      res.json(await auth.refresh(body.refreshToken));
    },
  );

  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      tag,
      summary: 'End the sign-in a refresh token belongs to',
      description:
        'Revokes the refresh token and every token rotated from the same sign-in, and ends the access tokens issued to that sign-in: ' +
        'they answer 401 from the next request on. Other sign-ins of the user go on. An unknown token also answers 204.',
      access: 'public',
      body: refreshBody,
      responses: { 204: { description: 'Signed out' } },
    },
    async ({ body }, _req, res) => {
      await auth.logout(body.refreshToken);
      res.status(204).end();
    },
  );

  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/logout-all',
      operationId: 'logoutAll',
      tag,
      summary: 'End every sign-in of the signed-in user',
      description: "Revokes all of the user's refresh tokens and ends all of their access tokens, this one included.",
      access: 'user',
      responses: { 204: { description: 'Signed out everywhere' }, 401: problem('UNAUTHENTICATED') },
    },
    async ({ user }, _req, res) => {
      if (user === undefined) return;
      await auth.logoutAll(user);
      res.status(204).end();
    },
  );

  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/me',
      operationId: 'getMe',
      tag,
      summary: 'The signed-in user',
      access: 'user',
      responses: { 200: { description: 'The user', schema: userSchema }, 401: problem('UNAUTHENTICATED') },
    },
    async ({ user }, _req, res) => {
      if (user === undefined) return;
      res.json(await auth.me(user));
    },
  );

  defineRoute(
    ctx,
    {
      method: 'patch',
      path: '/users/:id',
      operationId: 'updateUser',
      tag,
      summary: "Change a user's role",
      description:
        "Changing the role ends all of that user's sessions: their refresh tokens are revoked and their access tokens answer 401 " +
        'from the next request on. Setting the role the user already has changes nothing. `staff` is for ushers (ticket check-in).',
      access: 'admin',
      params: idParams,
      body: userPatchBody,
      responses: { 200: { description: 'The user', schema: userSchema }, 404: problem('NOT_FOUND'), 422: problem('VALIDATION_FAILED') },
    },
    async ({ params, body }, _req, res) => {
      res.json(await auth.setRole(params.id, body.role));
    },
  );
}
