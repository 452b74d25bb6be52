import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { rateLimited } from '../../http/errors.ts';
import { sendProblem } from '../../http/problem.ts';
import { defineRoute, type RouteContext } from '../../http/route.ts';
import { problem } from '../../http/schemas.ts';
import { authResponse, loginBody, refreshBody, registerBody, userSchema } from './schemas.ts';
import type { AuthService } from './service.ts';

/** Failed logins per minute per client address and email; only 401 answers count. */
function loginLimiter(perMinute: number): RequestHandler[] {
  if (perMinute === 0) return [];
  return [
    rateLimit({
      windowMs: 60_000,
      limit: perMinute,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode !== 401,
      keyGenerator: (req: Request) => {
        const body: unknown = req.body;
        const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['email'] : undefined;
        const email = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
        return `${ipKeyGenerator(req.ip ?? 'unknown')}|${email}`;
      },
      handler: (req, res) => {
        const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
        const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
        sendProblem(res, rateLimited(seconds));
      },
    }),
  ];
}

export function authRoutes(ctx: RouteContext, auth: AuthService, opts: { loginRateLimitPerMinute: number }): void {
  const tag = 'Auth';
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/auth/register',
      tag,
      summary: 'Create a customer account and sign in',
      access: 'public',
      body: registerBody,
      responses: { 201: { description: 'Signed up', schema: authResponse }, 409: problem('EMAIL_TAKEN'), 422: problem('VALIDATION_FAILED') },
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
      tag,
      summary: 'Sign in with email and password',
      access: 'public',
      body: loginBody,
      before: loginLimiter(opts.loginRateLimitPerMinute),
      responses: {
        200: { description: 'Signed in', schema: authResponse },
        401: problem('INVALID_CREDENTIALS, for an unknown email and a wrong password alike'),
        429: problem('RATE_LIMITED, with Retry-After'),
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
      tag,
      summary: 'End the sign-in a refresh token belongs to',
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
      method: 'get',
      path: '/me',
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
}
