/** SQL for users and refresh tokens: one function per statement. */
import type { Queryable } from '../../db/pool.ts';
import type { Role } from '../../http/auth.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  created_at: Date;
}

export async function insertUser(db: Queryable, u: { email: string; name: string; passwordHash: string; role: Role }) {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING *`,
    [u.email, u.name, u.passwordHash, u.role],
  );
  return rows[0] as UserRow;
}

export async function upsertAdmin(db: Queryable, u: { email: string; passwordHash: string }) {
  await db.query(
    `INSERT INTO users (email, name, password_hash, role) VALUES ($1, 'Administrator', $2, 'admin')
     ON CONFLICT (email) DO UPDATE SET role = 'admin', password_hash = EXCLUDED.password_hash`,
    [u.email, u.passwordHash],
  );
}

export async function findUserByEmail(db: Queryable, email: string) {
  const { rows } = await db.query<UserRow>(`SELECT * FROM users WHERE email = $1`, [email]);
  return rows[0];
}

export async function findUserById(db: Queryable, id: string) {
  const { rows } = await db.query<UserRow>(`SELECT * FROM users WHERE id = $1`, [id]);
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
