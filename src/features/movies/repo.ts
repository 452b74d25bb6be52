/** SQL for movies: one function per statement. */
import { escapeLike } from '../../db/like.ts';
import type { Queryable } from '../../db/pool.ts';
import type { MovieCreate, MoviePatch } from './schemas.ts';

export interface MovieRow {
  id: string;
  title: string;
  description: string | null;
  duration_minutes: number;
  language: string;
  genres: string[];
  certificate: string | null;
  release_date: string | null;
  poster_url: string | null;
  created_at: Date;
}

const COLUMNS = `id, title, description, duration_minutes, language, genres, certificate,
  to_char(release_date, 'YYYY-MM-DD') AS release_date, poster_url, created_at`;

export async function insertMovie(db: Queryable, m: MovieCreate): Promise<MovieRow> {
  const { rows } = await db.query<MovieRow>(
    `INSERT INTO movies (title, description, duration_minutes, language, genres, certificate, release_date, poster_url)
     VALUES ($1, $2, $3, $4, $5::text[], $6, $7::date, $8)
     RETURNING ${COLUMNS}`,
    [m.title, m.description ?? null, m.durationMinutes, m.language, m.genres ?? [], m.certificate ?? null, m.releaseDate ?? null, m.posterUrl ?? null],
  );
  return rows[0] as MovieRow;
}

export async function findMovie(db: Queryable, id: string, opts: { lock?: 'share' | 'update' } = {}): Promise<MovieRow | undefined> {
  const lock = opts.lock === 'update' ? 'FOR UPDATE' : opts.lock === 'share' ? 'FOR SHARE' : '';
  const { rows } = await db.query<MovieRow>(`SELECT ${COLUMNS} FROM movies WHERE id = $1 AND deleted_at IS NULL ${lock}`, [id]);
  return rows[0];
}

/** Keyset page ordered by (title, id): every movie appears exactly once across pages, even while rows are added. */
/** Keyset page ordered by (title, id): every movie appears exactly once across pages, even while rows are added. */
export const LIST_MOVIES_SQL = `SELECT ${COLUMNS} FROM movies
  WHERE deleted_at IS NULL
    AND ($1::text IS NULL OR lower(title) LIKE '%' || $1 || '%')
    AND ($2::text IS NULL OR lower_text_array(genres) @> ARRAY[lower($2::text)])
    AND ($3::text IS NULL OR lower(language) = lower($3))
    AND ($4::text IS NULL OR (title, id) > ($4::text, $5::uuid))
  ORDER BY title, id
  LIMIT $6`;

export async function listMovies(
  db: Queryable,
  f: { q?: string | undefined; genre?: string | undefined; language?: string | undefined; after?: [string, string] | undefined; limit: number },
): Promise<MovieRow[]> {
  const { rows } = await db.query<MovieRow>(LIST_MOVIES_SQL, [
    f.q === undefined ? null : escapeLike(f.q.toLowerCase()),
    f.genre ?? null,
    f.language ?? null,
    f.after?.[0] ?? null,
    f.after?.[1] ?? null,
    f.limit,
  ]);
  return rows;
}

export async function updateMovie(db: Queryable, id: string, p: MoviePatch): Promise<MovieRow | undefined> {
  const { rows } = await db.query<MovieRow>(
    `UPDATE movies SET
        title = CASE WHEN $2 THEN $3 ELSE title END,
        duration_minutes = CASE WHEN $4 THEN $5::int ELSE duration_minutes END,
        language = CASE WHEN $6 THEN $7 ELSE language END,
        description = CASE WHEN $8 THEN $9 ELSE description END,
        genres = CASE WHEN $10 THEN $11::text[] ELSE genres END,
        certificate = CASE WHEN $12 THEN $13 ELSE certificate END,
        release_date = CASE WHEN $14 THEN $15::date ELSE release_date END,
        poster_url = CASE WHEN $16 THEN $17 ELSE poster_url END
      WHERE id = $1 AND deleted_at IS NULL
      RETURNING ${COLUMNS}`,
    [
      id,
      p.title !== undefined, p.title ?? null,
      p.durationMinutes !== undefined, p.durationMinutes ?? null,
      p.language !== undefined, p.language ?? null,
      p.description !== undefined, p.description ?? null,
      p.genres !== undefined, p.genres ?? null,
      p.certificate !== undefined, p.certificate ?? null,
      p.releaseDate !== undefined, p.releaseDate ?? null,
      p.posterUrl !== undefined, p.posterUrl ?? null,
    ],
  );
  return rows[0];
}

export async function countUpcomingShowsOfMovie(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM shows WHERE movie_id = $1 AND status = 'scheduled' AND busy_until > now()`,
    [id],
  );
  return rows[0]?.n ?? 0;
}

export async function softDeleteMovie(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE movies SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
}
