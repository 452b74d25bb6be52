/**
 * Access tokens are short-lived JWTs signed with HS256 and verified with that one algorithm
 * pinned (so `alg: none` and algorithm swaps fail). Refresh tokens are opaque random
 * strings; only their SHA-256 hash is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthUser, Role } from '../../http/auth.ts';

const ALG = 'HS256';
const ISSUER = 'marquee';
const AUDIENCE = 'marquee-api';

export interface Tokens {
  signAccess(user: AuthUser): Promise<string>;
  verifyAccess(token: string): Promise<AuthUser | undefined>;
  accessTtlSeconds: number;
}

export function createTokens(secret: string, accessTtlSeconds: number): Tokens {
  const key = new TextEncoder().encode(secret);
  return {
    accessTtlSeconds,
    async signAccess(user) {
      return new SignJWT({ role: user.role })
        .setProtectedHeader({ alg: ALG, typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${accessTtlSeconds}s`)
        .sign(key);
    },
    async verifyAccess(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: [ALG], issuer: ISSUER, audience: AUDIENCE });
        const role = payload['role'];
        if (typeof payload.sub !== 'string' || (role !== 'customer' && role !== 'admin')) return undefined;
        return { id: payload.sub, role: role satisfies Role };
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
