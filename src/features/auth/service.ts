/**
 * Accounts and sessions. Passwords are hashed with argon2id; an unknown email still pays
 * for one hash verification so that it answers exactly like a wrong password.
 */
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Db } from '../../db/pool.ts';
import { isPgError } from '../../db/pool.ts';
import type { AuthUser, Role } from '../../http/auth.ts';
import { notFound } from '../../http/errors.ts';
import { emailTaken, invalidCredentials, invalidRefreshToken } from './errors.ts';
import * as repo from './repo.ts';
import type { AuthResponse, UserDto } from './schemas.ts';
import { hashRefreshToken, newRefreshToken, type Tokens } from './tokens.ts';

// argon2id, the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (plain: string) => hash(plain, ARGON2);

export function toUserDto(row: repo.UserRow): UserDto {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.created_at.toISOString() };
}

export function createAuthService(deps: { db: Db; tokens: Tokens; refreshTtlDays: number }) {
  const { db, tokens } = deps;
  // A real hash of a random password: verifying against it costs what a real check costs.
  const dummyHash = hashPassword(randomUUID());

  async function issue(user: repo.UserRow, familyId: string, q: Parameters<typeof repo.insertRefreshToken>[0] = db.pool): Promise<AuthResponse> {
    const refreshToken = newRefreshToken();
    await repo.insertRefreshToken(q, {
      userId: user.id,
      familyId,
      hash: hashRefreshToken(refreshToken),
      ttlDays: deps.refreshTtlDays,
    });
    return {
      user: toUserDto(user),
      accessToken: await tokens.signAccess({ id: user.id, role: user.role }),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: tokens.accessTtlSeconds,
    };
  }

  return {
    /** @throws EMAIL_TAKEN when the (normalised) email already has an account. */
    async register(input: { email: string; password: string; name: string }): Promise<AuthResponse> {
      const passwordHash = await hashPassword(input.password);
      let user: repo.UserRow;
      try {
        user = await repo.insertUser(db.pool, { email: input.email, name: input.name, passwordHash, role: 'customer' });
      } catch (err) {
        if (isPgError(err) && err.code === '23505') throw emailTaken();
        throw err;
      }
      return issue(user, randomUUID());
    },

    /** @throws INVALID_CREDENTIALS for an unknown email and a wrong password alike. */
    async login(input: { email: string; password: string }): Promise<AuthResponse> {
      const user = await repo.findUserByEmail(db.pool, input.email);
      const ok = await verify(user?.password_hash ?? (await dummyHash), input.password).catch(() => false);
      if (user === undefined || !ok) throw invalidCredentials();
      return issue(user, randomUUID());
    },

    /**
     * Rotates a refresh token. A token that was already rotated is a sign of theft: the
     * whole family is revoked (committed), then the caller gets a 401.
     */
    async refresh(refreshToken: string): Promise<AuthResponse> {
      const outcome = await db.tx(async (c) => {
        const row = await repo.lockRefreshToken(c, hashRefreshToken(refreshToken));
        if (row === undefined || row.revoked_at !== null || row.expires_at.getTime() <= Date.now()) {
          return { ok: false as const };
        }
        if (row.used_at !== null) {
          await repo.revokeFamily(c, row.family_id);
          return { ok: false as const };
        }
        const user = await repo.findUserById(c, row.user_id);
        if (user === undefined) return { ok: false as const };
        await repo.markRefreshTokenUsed(c, row.id);
        return { ok: true as const, pair: await issue(user, row.family_id, c) };
      });
      if (!outcome.ok) throw invalidRefreshToken();
      return outcome.pair;
    },

    /** Ends the sign-in the token belongs to. Unknown tokens are ignored (logout is idempotent). */
    async logout(refreshToken: string): Promise<void> {
      await repo.revokeFamilyOfToken(db.pool, hashRefreshToken(refreshToken));
    },

    async me(user: AuthUser): Promise<UserDto> {
      const row = await repo.findUserById(db.pool, user.id);
      if (row === undefined) throw notFound('user');
      return toUserDto(row);
    },

    /** Makes sure ADMIN_EMAIL exists with the admin role and ADMIN_PASSWORD. */
    async ensureAdmin(admin: { email: string; password: string }): Promise<void> {
      await repo.upsertAdmin(db.pool, { email: admin.email.trim().toLowerCase(), passwordHash: await hashPassword(admin.password) });
    },

    async createUser(input: { email: string; password: string; name: string; role: Role }) {
      return repo.insertUser(db.pool, { ...input, passwordHash: await hashPassword(input.password) });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
