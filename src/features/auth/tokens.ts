/**
 * Access tokens are short-lived JWTs signed with HS256 and verified with that one algorithm
 * pinned (so `alg: none` and algorithm swaps fail); `exp`, `iat` and `sub` are required.
 * A token also carries the user's token version (`ver`) and its sign-in (`sid`, the refresh
 * token family): the session cache (sessions.ts) refuses it once either is ended. Its
 * `role` claim tells clients the role at issue time; the server never reads it.
 * Refresh tokens are opaque random strings; only their SHA-256 hash is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '../../http/auth.ts';

const ALG = 'HS256';
const ISSUER = 'marquee';
const AUDIENCE = 'marquee-api';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a verified access token says; whether it still holds is the session cache's call. */
export interface AccessClaims {
  userId: string;
  tokenVersion: number;
  sessionId: string;
}

export interface Tokens {
  /**
   * tokenVersion defaults to 0 (a new user's) and sessionId to a fresh id that belongs to
   * no sign-in (tokens minted by tests and the benchmark for users made straight in SQL).
   */
  signAccess(user: { id: string; role: Role; tokenVersion?: number; sessionId?: string }): Promise<string>;
  verifyAccess(token: string): Promise<AccessClaims | undefined>;
  accessTtlSeconds: number;
}

export function createTokens(secret: string, accessTtlSeconds: number): Tokens {
  // Imported once: handing jose the raw bytes would import the key again on every call
  // (~35 µs of a ~100 µs verification, measured).
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  return {
    accessTtlSeconds,
    async signAccess(user) {
      return new SignJWT({ role: user.role, ver: user.tokenVersion ?? 0, sid: user.sessionId ?? randomUUID() })
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${accessTtlSeconds}s`)
        .sign(await key);
    },
    async verifyAccess(token) {
      try {
        const { payload } = await jwtVerify(token, await key, {
          algorithms: [ALG],
          issuer: ISSUER,
          audience: AUDIENCE,
          requiredClaims: ['exp', 'iat', 'sub'],
        });
        const { sub, ver, sid } = payload;
        if (typeof sub !== 'string' || !UUID.test(sub)) return undefined;
        if (typeof ver !== 'number' || !Number.isSafeInteger(ver) || ver < 0) return undefined;
        if (typeof sid !== 'string' || !UUID.test(sid)) return undefined;
        return { userId: sub.toLowerCase(), tokenVersion: ver, sessionId: sid.toLowerCase() };
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) return undefined;
        throw err;
      }
    },
  };
}

export function newRefreshToken(): string {
  return 'rt_' + randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
