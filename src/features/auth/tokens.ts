/**
 * Access tokens are short-lived JWTs signed with HS256 and verified with that one algorithm
 * pinned (so `alg: none` and algorithm swaps fail); `exp`, `iat` and `sub` are required, and
 * `iss` and `aud` must be Marquee's. Verification is synchronous, fast-jwt over node:crypto's
 * HMAC and timingSafeEqual: a few microseconds, where WebCrypto (jose) took ~100 µs of
 * promise and thread-pool hops on every authenticated request (ADR 0015).
 * A token also carries the user's token version (`ver`) and its sign-in (`sid`, the refresh
 * token family): the session cache (sessions.ts) refuses it once either is ended. Its
 * `role` claim tells clients the role at issue time; the server never reads it.
 * Refresh tokens are opaque random strings; only their SHA-256 hash is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { Role } from '../../domain/identity.ts';

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
  /** Synchronous: a signature check and a few comparisons, no I/O. */
  verifyAccess(token: string): AccessClaims | undefined;
  accessTtlSeconds: number;
}

export function createTokens(secret: string, accessTtlSeconds: number): Tokens {
  const sign = createSigner({ key: secret, algorithm: ALG, iss: ISSUER, aud: AUDIENCE, expiresIn: accessTtlSeconds * 1000 });
  const verify = createVerifier({
    key: secret,
    algorithms: [ALG],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    requiredClaims: ['exp', 'iat', 'sub'],
    cache: false,
  });
  return {
    accessTtlSeconds,
    signAccess(user) {
      // The header is {alg: HS256, typ: JWT}; iat and exp are set by the signer.
      return Promise.resolve(sign({ sub: user.id, role: user.role, ver: user.tokenVersion ?? 0, sid: user.sessionId ?? randomUUID() }));
    },
    verifyAccess(token) {
      let payload: Record<string, unknown>;
      try {
        payload = verify(token) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof TokenError) return undefined;
        throw err;
      }
      const { sub, iat, ver, sid } = payload;
      if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined;
      if (typeof sub !== 'string' || !UUID.test(sub)) return undefined;
      if (typeof ver !== 'number' || !Number.isSafeInteger(ver) || ver < 0) return undefined;
      if (typeof sid !== 'string' || !UUID.test(sid)) return undefined;
      return { userId: sub.toLowerCase(), tokenVersion: ver, sessionId: sid.toLowerCase() };
    },
  };
}

export function newRefreshToken(): string {
  return 'rt_' + randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
