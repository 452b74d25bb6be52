/**
 * Accounts and sessions. Passwords are hashed with argon2id; an unknown email still pays
 * for one hash verification so that it answers exactly like a wrong password.
 *
 * A sign-in is a refresh-token family; its access tokens carry the family id (`sid`) and
 * the user's token version (`ver`). Ending a sign-in (logout, detected refresh-token reuse)
 * revokes the family; ending all of them (logout-all, a role or password change) bumps the
 * version. Either way the user's access tokens are refused on their next request, in every
 * process (sessions.ts).
 */
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { ConfigError } from '../../config.ts';
import type { Db, Queryable } from '../../db/pool.ts';
import { isPgError } from '../../db/pool.ts';
import { notFound } from '../../domain/errors.ts';
import type { AuthUser, Role } from '../../domain/identity.ts';
import { emailTaken, invalidCredentials, invalidRefreshToken } from './errors.ts';
import * as repo from './repo.ts';
import type { AuthResponse, UserDto } from './schemas.ts';
import type { SessionCache } from './sessions.ts';
import { hashRefreshToken, newRefreshToken, type Tokens } from './tokens.ts';

// argon2id, the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
export const hashPassword = (plain: string) => hash(plain, ARGON2);

export function toUserDto(row: repo.UserRow): UserDto {
  return { id: row.id, email: row.email, name: row.name, role: row.role, createdAt: row.created_at.toISOString() };
}

export type AdminBootstrap = 'created' | 'unchanged' | 'password changed' | 'promoted';

export function createAuthService(deps: { db: Db; tokens: Tokens; sessions: SessionCache; refreshTtlDays: number }) {
  const { db, tokens, sessions } = deps;
  // A real hash of a random password: verifying against it costs what a real check costs.
  const dummyHash = hashPassword(randomUUID());

  async function issue(user: repo.UserRow, familyId: string, q: Queryable = db.pool): Promise<AuthResponse> {
    const refreshToken = newRefreshToken();
    await repo.insertRefreshToken(q, {
      userId: user.id,
      familyId,
      hash: hashRefreshToken(refreshToken),
      ttlDays: deps.refreshTtlDays,
    });
    return {
      user: toUserDto(user),
      accessToken: await tokens.signAccess({ id: user.id, role: user.role, tokenVersion: user.token_version, sessionId: familyId }),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: tokens.accessTtlSeconds,
    };
  }

  return {
    /**
     * The caller of a verified access token, with the role the database holds now; undefined
     * when the token's sign-in or version was ended or the user is gone.
     */
    async authenticate(token: string): Promise<AuthUser | undefined> {
      const claims = tokens.verifyAccess(token);
      if (claims === undefined) return undefined;
      const state = await sessions.get(claims.userId);
      if (state === undefined || state.tokenVersion !== claims.tokenVersion || state.revokedSessions.has(claims.sessionId)) return undefined;
      return { id: claims.userId, role: state.role };
    },

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
     * whole family is revoked (committed), which also ends its access tokens, then the caller
     * gets a 401. The user's row is locked first, so a concurrent logout, role or password
     * change either sees the new token or makes this refresh fail.
     */
    async refresh(refreshToken: string): Promise<AuthResponse> {
      const hashed = hashRefreshToken(refreshToken);
      const outcome = await db.tx(async (c) => {
        const user = await repo.lockUserOfRefreshToken(c, hashed);
        if (user === undefined) return { ok: false as const };
        const row = await repo.lockRefreshToken(c, hashed);
        if (row === undefined || row.revoked_at !== null || row.expires_at.getTime() <= Date.now()) {
          return { ok: false as const };
        }
        if (row.used_at !== null) {
          await repo.revokeFamily(c, row.family_id);
          return { ok: false as const, revokedFor: user.id };
        }
        await repo.markRefreshTokenUsed(c, row.id);
        return { ok: true as const, pair: await issue(user, row.family_id, c) };
      });
      if (!outcome.ok) {
        if (outcome.revokedFor !== undefined) sessions.invalidate(outcome.revokedFor);
        throw invalidRefreshToken();
      }
      return outcome.pair;
    },

    /**
     * Ends the sign-in the token belongs to: its refresh tokens and its access tokens.
     * Unknown tokens are ignored (logout is idempotent).
     */
    async logout(refreshToken: string): Promise<void> {
      const hashed = hashRefreshToken(refreshToken);
      const userId = await db.tx(async (c) => {
        const user = await repo.lockUserOfRefreshToken(c, hashed);
        if (user === undefined) return undefined;
        await repo.revokeFamilyOfToken(c, hashed);
        return user.id;
      });
      if (userId !== undefined) sessions.invalidate(userId);
    },

    /** Ends every sign-in of the user: all refresh tokens revoked, all access tokens refused. */
    async logoutAll(user: AuthUser): Promise<void> {
      await db.tx(async (c) => {
        await repo.bumpTokenVersion(c, user.id);
        await repo.revokeUserRefreshTokens(c, user.id);
      });
      sessions.invalidate(user.id);
    },

    async me(user: AuthUser): Promise<UserDto> {
      const row = await repo.findUserById(db.pool, user.id);
      if (row === undefined) throw notFound('user');
      return toUserDto(row);
    },

    /**
     * Sets a user's role. A change ends all of the user's sessions (the trigger revokes the
     * refresh tokens and bumps the token version in the same statement); the same role
     * again changes nothing. @throws NOT_FOUND for an unknown user.
     */
    async setRole(id: string, role: Role): Promise<UserDto> {
      const row = await repo.updateUserCredentials(db.pool, id, { role });
      if (row === undefined) throw notFound('user');
      sessions.invalidate(row.id);
      return toUserDto(row);
    },

    /**
     * Makes sure ADMIN_EMAIL is an admin whose password is ADMIN_PASSWORD, at start-up.
     * Processes starting at once take turns (an advisory lock). An admin whose password
     * already matches is left alone (its sessions live on); another password is set (its
     * sessions end). An existing account that is not an admin is promoted only when the
     * operator says so (promoteExisting); otherwise start-up stops with a ConfigError.
     */
    async ensureAdmin(admin: { email: string; password: string; promoteExisting: boolean }): Promise<AdminBootstrap> {
      const email = admin.email.trim().toLowerCase();
      const { outcome, userId } = await db.tx(async (c) => {
        await repo.lockAdminBootstrap(c);
        const user = await repo.lockUserByEmail(c, email);
        if (user === undefined) {
          const created = await repo.insertUser(c, { email, name: 'Administrator', passwordHash: await hashPassword(admin.password), role: 'admin' });
          return { outcome: 'created' as const, userId: created.id };
        }
        if (user.role !== 'admin' && !admin.promoteExisting) {
          throw new ConfigError(
            `ADMIN_EMAIL ${email} belongs to an existing ${user.role} account, which start-up will not make an admin on its own.\n` +
              `  To promote that account (its sessions are ended), set ADMIN_PROMOTE_EXISTING=true;\n` +
              `  otherwise set ADMIN_EMAIL to an address that has no account yet.`,
          );
        }
        const samePassword = await verify(user.password_hash, admin.password).catch(() => false);
        if (user.role === 'admin' && samePassword) return { outcome: 'unchanged' as const, userId: user.id };
        await repo.updateUserCredentials(c, user.id, {
          role: 'admin',
          ...(samePassword ? {} : { passwordHash: await hashPassword(admin.password) }),
        });
        return { outcome: user.role === 'admin' ? ('password changed' as const) : ('promoted' as const), userId: user.id };
      });
      if (outcome !== 'unchanged') sessions.invalidate(userId);
      return outcome;
    },

    async createUser(input: { email: string; password: string; name: string; role: Role }) {
      return repo.insertUser(db.pool, { ...input, passwordHash: await hashPassword(input.password) });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
