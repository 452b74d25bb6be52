/**
 * SQL for users and refresh tokens: one function per statement.
 *
 * Lock order for every write that ends or continues a sign-in: the user's row first, then
 * refresh_tokens rows. Changing a role or a password hash bumps users.token_version and
 * revokes the user's refresh tokens in the same statement (a trigger, migration 005).
 */
import type { Queryable } from '../../db/pool.ts';
import type { Role } from '../../domain/identity.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  token_version: number;
  created_at: Date;
}

export async function insertUser(db: Queryable, u: { email: string; name: string; passwordHash: string; role: Role }) {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING *`,
    [u.email, u.name, u.passwordHash, u.role],
  );
  return rows[0] as UserRow;
}

export async function findUserByEmail(db: Queryable, email: string) {
  const { rows } = await db.query<UserRow>(`SELECT * FROM users WHERE email = $1`, [email]);
  return rows[0];
}

export async function lockUserByEmail(db: Queryable, email: string) {
  const { rows } = await db.query<UserRow>(`SELECT * FROM users WHERE email = $1 FOR NO KEY UPDATE`, [email]);
  return rows[0];
}

export async function findUserById(db: Queryable, id: string) {
  const { rows } = await db.query<UserRow>(`SELECT * FROM users WHERE id = $1`, [id]);
  return rows[0];
}

/** Locks the owner of a refresh token (first in the lock order); undefined for an unknown token. */
export async function lockUserOfRefreshToken(db: Queryable, hash: Buffer) {
  const { rows } = await db.query<UserRow>(
    `SELECT * FROM users WHERE id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1) FOR NO KEY UPDATE`,
    [hash],
  );
  return rows[0];
}

/** Role and/or password hash; the trigger bumps token_version and revokes refresh tokens when either changes. */
export async function updateUserCredentials(db: Queryable, id: string, set: { role?: Role; passwordHash?: string }) {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET role = coalesce($2, role), password_hash = coalesce($3, password_hash) WHERE id = $1 RETURNING *`,
    [id, set.role ?? null, set.passwordHash ?? null],
  );
  return rows[0];
}

/** Ends every access token of the user (logout-all); the caller revokes the refresh tokens in the same transaction. */
export async function bumpTokenVersion(db: Queryable, id: string) {
  await db.query(`UPDATE users SET token_version = token_version + 1 WHERE id = $1`, [id]);
}

export interface SessionStateRow {
  role: Role;
  token_version: number;
  revoked_families: string[];
}

/** What the per-process session cache keeps for a user: one query on a miss. */
export async function sessionState(db: Queryable, userId: string, revokedWithinSeconds: number) {
  const { rows } = await db.query<SessionStateRow>(
    `SELECT u.role, u.token_version,
            ARRAY(SELECT DISTINCT r.family_id FROM refresh_tokens r
                   WHERE r.user_id = u.id AND r.revoked_at > now() - make_interval(secs => $2)) AS revoked_families
       FROM users u WHERE u.id = $1`,
    [userId, revokedWithinSeconds],
  );
  return rows[0];
}

export interface RefreshRow {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export async function insertRefreshToken(
  db: Queryable,
  t: { userId: string; familyId: string; hash: Buffer; ttlDays: number },
) {
  await db.query(
    `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(days => $4))`,
    [t.userId, t.familyId, t.hash, t.ttlDays],
  );
}

/** Locks the token row so two refreshes of one token cannot both rotate it. */
export async function lockRefreshToken(db: Queryable, hash: Buffer) {
  const { rows } = await db.query<RefreshRow>(
    `SELECT id, user_id, family_id, expires_at, used_at, revoked_at
       FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
    [hash],
  );
  return rows[0];
}

export async function markRefreshTokenUsed(db: Queryable, id: string) {
  await db.query(`UPDATE refresh_tokens SET used_at = now() WHERE id = $1`, [id]);
}

export async function revokeFamily(db: Queryable, familyId: string) {
  await db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, [familyId]);
}

export async function revokeFamilyOfToken(db: Queryable, hash: Buffer) {
  await db.query(
    `UPDATE refresh_tokens SET revoked_at = now()
      WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)`,
    [hash],
  );
}

export async function revokeUserRefreshTokens(db: Queryable, userId: string) {
  await db.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
}

/** Serialises the ADMIN_EMAIL bootstrap of processes that start at once (released at commit). */
export async function lockAdminBootstrap(db: Queryable) {
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('marquee:admin-bootstrap', 0))`);
}
