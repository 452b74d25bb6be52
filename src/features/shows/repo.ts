/**
 * SQL for shows and their seats. Availability follows one rule, written out in each query
 * that needs it (the seat map, available_seats): a claim counts while confirmed, or pending
 * and unexpired. (The live_seat_claims view that once also stated it was dropped, unused,
 * in migration 007.)
 */
import type { Queryable } from '../../db/pool.ts';

export interface ShowRow {
  id: string;
  movie_id: string;
  screen_id: string;
  theatre_id: string;
  starts_at: Date;
  ends_at: Date;
  prices: Record<string, number>;
  currency: string;
  status: 'scheduled' | 'cancelled';
  total_seats: number;
  available_seats: number;
  movie_title: string;
  movie_duration: number;
  movie_poster_url: string | null;
  movie_certificate: string | null;
  movie_language: string;
  theatre_name: string;
  theatre_city: string;
  screen_name: string;
}

const SHOW_SELECT = `
  SELECT s.id, s.movie_id, s.screen_id, s.theatre_id, s.starts_at, s.ends_at, s.prices, s.currency, s.status, s.total_seats,
         CASE WHEN s.status = 'cancelled' THEN 0
              ELSE s.total_seats - (
                -- the show's active claims through their partial index, each booking by primary key
                SELECT count(*)::int FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
                 WHERE bs.show_id = s.id AND bs.booking_status IN ('pending', 'confirmed')
                   AND (bs.booking_status = 'confirmed' OR b.expires_at > now())) END AS available_seats,
         m.title AS movie_title, m.duration_minutes AS movie_duration, m.poster_url AS movie_poster_url,
         m.certificate AS movie_certificate, m.language AS movie_language,
         t.name AS theatre_name, t.city AS theatre_city, sc.name AS screen_name
    FROM shows s
    JOIN movies m ON m.id = s.movie_id
    JOIN theatres t ON t.id = s.theatre_id
    JOIN screens sc ON sc.id = s.screen_id`;

export async function findShow(db: Queryable, id: string): Promise<ShowRow | undefined> {
  const { rows } = await db.query<ShowRow>(`${SHOW_SELECT} WHERE s.id = $1`, [id]);
  return rows[0];
}

/** Upcoming scheduled shows, keyset-paged by (starts_at, id), in one query with summaries and counts. */
export async function listShows(
  db: Queryable,
  f: {
    movieId?: string | undefined;
    theatreId?: string | undefined;
    city?: string | undefined;
    from: Date;
    to?: Date | undefined;
    after?: [string, string] | undefined;
    limit: number;
  },
): Promise<ShowRow[]> {
  const { rows } = await db.query<ShowRow>(
    `${SHOW_SELECT}
      WHERE s.status = 'scheduled'
        AND s.starts_at >= $1
        AND ($2::timestamptz IS NULL OR s.starts_at < $2)
        AND ($3::uuid IS NULL OR s.movie_id = $3)
        AND ($4::uuid IS NULL OR s.theatre_id = $4)
        AND ($5::text IS NULL OR lower(t.city) = lower($5))
        AND ($6::timestamptz IS NULL OR (s.starts_at, s.id) > ($6::timestamptz, $7::uuid))
        AND m.deleted_at IS NULL AND t.deleted_at IS NULL
      ORDER BY s.starts_at, s.id
      LIMIT $8`,
    [f.from, f.to ?? null, f.movieId ?? null, f.theatreId ?? null, f.city ?? null, f.after?.[0] ?? null, f.after?.[1] ?? null, f.limit],
  );
  return rows;
}

/**
 * The movie a new show plays, share-locked: it cannot be removed while the show is added.
 * (The shows feature reads the catalogue tables with its own SQL, never through another feature's repo.)
 */
export async function shareLockMovie(db: Queryable, id: string): Promise<{ id: string; duration_minutes: number } | undefined> {
  const { rows } = await db.query<{ id: string; duration_minutes: number }>(
    `SELECT id, duration_minutes FROM movies WHERE id = $1 AND deleted_at IS NULL FOR SHARE`,
    [id],
  );
  return rows[0];
}

/**
 * The screen a new show is on, its theatre share-locked: a theatre removed before the lock
 * is granted is re-checked after it (the join is re-evaluated), so its screen is not found.
 */
export async function shareLockScreen(db: Queryable, id: string): Promise<{ id: string; theatre_id: string } | undefined> {
  const { rows } = await db.query<{ id: string; theatre_id: string }>(
    `SELECT sc.id, sc.theatre_id FROM screens sc JOIN theatres t ON t.id = sc.theatre_id
      WHERE sc.id = $1 AND t.deleted_at IS NULL
      FOR SHARE OF t`,
    [id],
  );
  return rows[0];
}

export async function insertShow(
  db: Queryable,
  s: { movieId: string; screenId: string; theatreId: string; startsAt: Date; durationMinutes: number; cleaningMinutes: number; prices: Record<string, number>; currency: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO shows (movie_id, screen_id, theatre_id, starts_at, ends_at, busy_until, prices, currency)
     VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz + make_interval(mins => $5::int),
             $4::timestamptz + make_interval(mins => $5::int + $6::int), $7::jsonb, $8)
     RETURNING id`,
    [s.movieId, s.screenId, s.theatreId, s.startsAt, s.durationMinutes, s.cleaningMinutes, JSON.stringify(s.prices), s.currency],
  );
  return (rows[0] as { id: string }).id;
}

/** The show's own seats, made from the screen's layout in one statement; returns how many. */
export async function insertShowSeats(db: Queryable, showId: string, screenId: string, prices: Record<string, number>): Promise<number> {
  const res = await db.query(
    `INSERT INTO show_seats (show_id, seat_id, row_label, row_index, number, category, aisle_after, price)
     SELECT $1, s.id, s.row_label, s.row_index, s.number, s.category, s.aisle_after, ($3::jsonb ->> s.category)::int
       FROM seats s WHERE s.screen_id = $2`,
    [showId, screenId, JSON.stringify(prices)],
  );
  await db.query(`UPDATE shows SET total_seats = $2 WHERE id = $1`, [showId, res.rowCount ?? 0]);
  return res.rowCount ?? 0;
}

export async function screenCategories(db: Queryable, screenId: string): Promise<string[]> {
  const { rows } = await db.query<{ category: string }>(`SELECT DISTINCT category FROM seats WHERE screen_id = $1 ORDER BY 1`, [screenId]);
  return rows.map((r) => r.category);
}

export interface ShowLockRow {
  id: string;
  status: 'scheduled' | 'cancelled';
  starts_at: Date;
}

/**
 * FOR NO KEY UPDATE, not FOR UPDATE: a hold inserting a booking takes FOR KEY SHARE on the
 * show through its foreign key while it holds seat locks; a FOR UPDATE here would wait for
 * those seats in the other order and deadlock (found by the show-cancel race test).
 */
export async function lockShow(db: Queryable, id: string): Promise<ShowLockRow | undefined> {
  const { rows } = await db.query<ShowLockRow>(`SELECT id, status, starts_at FROM shows WHERE id = $1 FOR NO KEY UPDATE`, [id]);
  return rows[0];
}

export async function markShowCancelled(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE shows SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'scheduled'`, [id]);
}

export interface SeatMapRow {
  id: string;
  row: string;
  number: number;
  category: string;
  aisle_after: boolean;
  price: number;
  status: 'available' | 'held' | 'booked';
  /**
   * Milliseconds until a held seat's hold lapses (then it reads available without any write),
   * on the database clock; a number, not two timestamps per row to parse.
   */
  hold_ms_left: number | null;
}

/** The seat map in one query: every seat of the show with its live status. */
export async function seatMap(db: Queryable, showId: string): Promise<SeatMapRow[]> {
  const { rows } = await db.query<SeatMapRow>({
    // A named (prepared) statement: each connection plans it once. Planning this join took
    // ~0.3 ms of a ~0.7 ms miss, more than running it (~0.1 ms for a 100-seat show).
    name: 'shows.seatMap',
    // The availability rule (see the top of this file). Each seat looks up its own claim
    // through the unique index of active claims (at most one per seat: LIMIT 1 keeps it a
    // per-seat probe), so the cost grows with the seats, never with seats × claims: a join on
    // the show's claims was planned, on a new show's stale statistics (3 seats, 1 claim
    // estimated), as a nested loop with a join filter, 26 ms for 600 sold seats (2.8 ms so).
    text: `SELECT ss.id, ss.row_label AS row, ss.number, ss.category, ss.aisle_after, ss.price, coalesce(c.status, 'available') AS status,
            (extract(epoch FROM c.hold_expires_at - now()) * 1000)::float8 AS hold_ms_left
       FROM show_seats ss
       LEFT JOIN LATERAL (
         SELECT CASE WHEN bs.booking_status = 'confirmed' THEN 'booked' ELSE 'held' END AS status,
                CASE WHEN bs.booking_status = 'pending' THEN b.expires_at END AS hold_expires_at
           FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
          WHERE bs.show_seat_id = ss.id AND bs.booking_status IN ('pending', 'confirmed')
            AND (bs.booking_status = 'confirmed' OR b.expires_at > now())
          LIMIT 1
       ) c ON true
      WHERE ss.show_id = $1
      ORDER BY ss.row_index, ss.number`,
    values: [showId],
  });
  return rows;
}

export async function showExists(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM shows WHERE id = $1`, [id]);
  return (rowCount ?? 0) > 0;
}
