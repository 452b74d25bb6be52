/** SQL for theatres, screens and their seats. */
import type { Queryable } from '../../db/pool.ts';
import { escapeLike } from '../../db/like.ts';
import type { ScreenCreate, TheatreCreate, TheatrePatch } from './schemas.ts';

export interface TheatreRow {
  id: string;
  name: string;
  city: string;
  address: string;
  created_at: Date;
}

export async function insertTheatre(db: Queryable, t: TheatreCreate): Promise<TheatreRow> {
  const { rows } = await db.query<TheatreRow>(
    `INSERT INTO theatres (name, city, address) VALUES ($1, $2, $3) RETURNING id, name, city, address, created_at`,
    [t.name, t.city, t.address],
  );
  return rows[0] as TheatreRow;
}

export async function findTheatre(db: Queryable, id: string, opts: { lock?: 'share' | 'update' } = {}) {
  const lock = opts.lock === 'update' ? 'FOR UPDATE' : opts.lock === 'share' ? 'FOR SHARE' : '';
  const { rows } = await db.query<TheatreRow>(
    `SELECT id, name, city, address, created_at FROM theatres WHERE id = $1 AND deleted_at IS NULL ${lock}`,
    [id],
  );
  return rows[0];
}

export async function listTheatres(
  db: Queryable,
  f: { city?: string | undefined; q?: string | undefined; after?: [string, string] | undefined; limit: number },
) {
  const { rows } = await db.query<TheatreRow>(
    `SELECT id, name, city, address, created_at FROM theatres
      WHERE deleted_at IS NULL
        AND ($1::text IS NULL OR lower(city) = lower($1))
        AND ($2::text IS NULL OR lower(name) LIKE '%' || $2 || '%')
        AND ($3::text IS NULL OR (name, id) > ($3::text, $4::uuid))
      ORDER BY name, id
      LIMIT $5`,
    [f.city ?? null, f.q === undefined ? null : escapeLike(f.q.toLowerCase()), f.after?.[0] ?? null, f.after?.[1] ?? null, f.limit],
  );
  return rows;
}

export async function updateTheatre(db: Queryable, id: string, p: TheatrePatch) {
  const { rows } = await db.query<TheatreRow>(
    `UPDATE theatres SET name = coalesce($2, name), city = coalesce($3, city), address = coalesce($4, address)
      WHERE id = $1 AND deleted_at IS NULL
      RETURNING id, name, city, address, created_at`,
    [id, p.name ?? null, p.city ?? null, p.address ?? null],
  );
  return rows[0];
}

export async function countUpcomingShowsOfTheatre(db: Queryable, id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM shows WHERE theatre_id = $1 AND status = 'scheduled' AND busy_until > now()`,
    [id],
  );
  return rows[0]?.n ?? 0;
}

export async function softDeleteTheatre(db: Queryable, id: string) {
  await db.query(`UPDATE theatres SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
}

export interface ScreenSummaryRow {
  id: string;
  name: string;
  seat_count: number;
}

export async function listScreenSummaries(db: Queryable, theatreId: string) {
  const { rows } = await db.query<ScreenSummaryRow>(
    `SELECT sc.id, sc.name, (SELECT count(*)::int FROM seats s WHERE s.screen_id = sc.id) AS seat_count
       FROM screens sc WHERE sc.theatre_id = $1 ORDER BY sc.name, sc.id`,
    [theatreId],
  );
  return rows;
}

export interface ScreenRow {
  id: string;
  theatre_id: string;
  name: string;
}

export async function insertScreen(db: Queryable, theatreId: string, name: string) {
  const { rows } = await db.query<ScreenRow>(
    `INSERT INTO screens (theatre_id, name) VALUES ($1, $2) RETURNING id, theatre_id, name`,
    [theatreId, name],
  );
  return rows[0] as ScreenRow;
}

/**
 * Every seat of every row, in one statement: row i gets seats 1..n, and seat k is marked
 * aisle_after when k is one of the row's aisles. The aisles go as one JSON array of arrays
 * (element i for row i): SQL arrays must be rectangular, and rows have different counts.
 */
export async function insertSeats(db: Queryable, screenId: string, rows: ScreenCreate['rows']) {
  await db.query(
    `INSERT INTO seats (screen_id, row_label, row_index, number, category, aisle_after)
     SELECT $1, r.label, r.idx - 1, n, r.category, coalesce(($5::jsonb -> (r.idx::int - 1)) @> to_jsonb(n), false)
       FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS r(label, seats, category, idx)
       CROSS JOIN LATERAL generate_series(1, r.seats) AS n`,
    [screenId, rows.map((r) => r.label), rows.map((r) => r.seats), rows.map((r) => r.category), JSON.stringify(rows.map((r) => r.aisles ?? []))],
  );
}

/** A screen of a theatre that is not removed. */
export async function findScreen(db: Queryable, id: string) {
  const { rows } = await db.query<ScreenRow>(
    `SELECT sc.id, sc.theatre_id, sc.name FROM screens sc JOIN theatres t ON t.id = sc.theatre_id
      WHERE sc.id = $1 AND t.deleted_at IS NULL`,
    [id],
  );
  return rows[0];
}

export interface SeatRow {
  row_label: string;
  number: number;
  category: string;
  aisle_after: boolean;
}

export async function listSeats(db: Queryable, screenId: string) {
  const { rows } = await db.query<SeatRow>(
    `SELECT row_label, number, category, aisle_after FROM seats WHERE screen_id = $1 ORDER BY row_index, number`,
    [screenId],
  );
  return rows;
}
