/**
 * A realistic demo catalogue: cities, theatres, screens of 100–400 seats with standard,
 * premium and accessible seats, 24 movies and shows across the next 7 days. Written with
 * set-based SQL (a handful of statements per screen), with progress reported as it goes.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/pool.ts';
import { hashPassword } from '../features/auth/service.ts';

const CITIES: Record<string, [string, string][]> = {
  London: [
    ['Marquee Leicester Square', '5 Leicester Square, WC2H 7NA'],
    ['Marquee Camden', '14 Parkway, NW1 7AA'],
  ],
  'New York': [
    ['Marquee Times Square', '234 W 42nd St, NY 10036'],
    ['Marquee Brooklyn Heights', '108 Court St, NY 11201'],
  ],
  Berlin: [['Marquee Zoo Palast', 'Hardenbergstraße 29a, 10623']],
  Mumbai: [
    ['Marquee Bandra', 'Linking Road, Bandra West 400050'],
    ['Marquee Lower Parel', 'Senapati Bapat Marg 400013'],
  ],
  Sydney: [['Marquee George Street', '505 George St, NSW 2000']],
};

const MOVIES: [string, number, string, string[], string][] = [
  ['Starfall Protocol', 148, 'English', ['sci-fi', 'action'], 'PG-13'],
  ['The Quiet Harbour', 112, 'English', ['drama'], 'PG'],
  ['Midnight at the Archive', 104, 'English', ['mystery', 'thriller'], 'PG-13'],
  ['Paper Lanterns', 96, 'Japanese', ['animation', 'family'], 'G'],
  ['Red Line Express', 131, 'Hindi', ['action', 'thriller'], 'UA'],
  ['A Season in Lisbon', 118, 'Portuguese', ['romance', 'drama'], 'PG'],
  ['The Last Cartographer', 139, 'English', ['adventure'], 'PG-13'],
  ['Small Hours', 89, 'English', ['comedy'], 'R'],
  ['Echoes of Mars', 126, 'English', ['sci-fi', 'drama'], 'PG-13'],
  ['Kingdom of Salt', 154, 'English', ['fantasy', 'adventure'], 'PG-13'],
  ['Die Stille Stadt', 101, 'German', ['drama'], '12'],
  ['Monsoon Wedding Redux', 122, 'Hindi', ['comedy', 'romance'], 'U'],
  ['Undertow', 98, 'English', ['horror'], 'R'],
  ['The Clockmaker’s Daughter', 109, 'French', ['drama', 'mystery'], 'PG'],
  ['Velocity 9', 117, 'English', ['action'], 'PG-13'],
  ['Gardens of Kyoto', 93, 'Japanese', ['documentary'], 'G'],
  ['Ice Road Rescue', 107, 'English', ['family', 'adventure'], 'PG'],
  ['Night Shift Heroes', 99, 'English', ['comedy', 'action'], 'PG-13'],
  ['The Weight of Feathers', 128, 'Spanish', ['drama'], 'PG-13'],
  ['Neon Tide', 115, 'Korean', ['thriller'], 'R'],
  ['Orbit of Two', 102, 'English', ['romance', 'sci-fi'], 'PG'],
  ['Dust and Thunder', 136, 'English', ['western'], 'PG-13'],
  ['Little Giants', 88, 'English', ['animation', 'family'], 'G'],
  ['The Forgotten Symphony', 121, 'Italian', ['music', 'drama'], 'PG'],
];

/**
 * Seat layouts: [rows, seats per row, the seat numbers an aisle runs after in every row]; the
 * front row is accessible, the back two premium. The aisles are off the centre, as in most
 * auditoriums, so the middle seats stay together: one in the small screen, two in the wider ones.
 */
const LAYOUTS: [number, number, number[]][] = [
  [8, 13, [4]], // 104 seats: 4 | 9
  [12, 18, [4, 14]], // 216: 4 | 10 | 4
  [16, 25, [5, 20]], // 400: 5 | 15 | 5
];

const SHOW_TIMES = [11, 14.5, 18, 21.5]; // local hours (UTC here), four slots a day
const CLEANING_MINUTES = 15;

export interface SeedResult {
  movies: number;
  theatres: number;
  screens: number;
  shows: number;
  seats: number;
  admin?: { email: string; password: string };
  /** A `staff` account for the door page (/door), made with the admin. */
  usher?: { email: string; password: string };
}

export async function catalogueIsEmpty(db: Db): Promise<boolean> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT (SELECT count(*) FROM movies) + (SELECT count(*) FROM theatres) AS n`);
  return (rows[0]?.n ?? 0) === 0;
}

export async function seedDemoCatalogue(
  db: Db,
  opts: { currency: string; days?: number; progress?: (message: string) => void; createAdmin?: boolean },
): Promise<SeedResult> {
  const progress = opts.progress ?? (() => undefined);
  const days = opts.days ?? 7;
  const result: SeedResult = { movies: 0, theatres: 0, screens: 0, shows: 0, seats: 0 };

  const movieIds = await db.tx(async (c) => {
    const { rows } = await c.query<{ id: string; duration_minutes: number }>(
      `INSERT INTO movies (title, description, duration_minutes, language, genres, certificate, release_date, poster_url)
       SELECT t, 'A Marquee demo feature: ' || t || '.', d, l, string_to_array(g, ','), cert,
              (current_date - (n::int * 9))::date, 'https://posters.marquee.dev/' || n || '.jpg'
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS m(t, d, l, g, cert, n)
       RETURNING id, duration_minutes`,
      [MOVIES.map((m) => m[0]), MOVIES.map((m) => m[1]), MOVIES.map((m) => m[2]), MOVIES.map((m) => m[3].join(',')), MOVIES.map((m) => m[4])],
    );
    return rows;
  });
  result.movies = movieIds.length;
  progress(`movies: ${movieIds.length}`);

  const theatreList = Object.entries(CITIES).flatMap(([city, list]) => list.map(([name, address]) => ({ city, name, address })));
  let screenNo = 0;
  const totalScreens = theatreList.length * LAYOUTS.length;
  for (const theatre of theatreList) {
    await db.tx(async (c) => {
      const { rows } = await c.query<{ id: string }>(`INSERT INTO theatres (name, city, address) VALUES ($1, $2, $3) RETURNING id`, [
        theatre.name,
        theatre.city,
        theatre.address,
      ]);
      const theatreId = (rows[0] as { id: string }).id;
      result.theatres++;
      for (const [i, [rowCount, perRow, aisles]] of LAYOUTS.entries()) {
        const screenRes = await c.query<{ id: string }>(`INSERT INTO screens (theatre_id, name) VALUES ($1, $2) RETURNING id`, [theatreId, `Screen ${i + 1}`]);
        const screenId = (screenRes.rows[0] as { id: string }).id;
        // Rows A.., first row accessible, last two premium, the rest standard; the same aisles in every row.
        const seatRes = await c.query(
          `INSERT INTO seats (screen_id, row_label, row_index, number, category, aisle_after)
           SELECT $1, chr(65 + r), r, n,
                  CASE WHEN r = 0 THEN 'accessible' WHEN r >= $2 - 2 THEN 'premium' ELSE 'standard' END,
                  n = ANY($4::int[])
             FROM generate_series(0, $2 - 1) r CROSS JOIN generate_series(1, $3) n`,
          [screenId, rowCount, perRow, aisles],
        );
        result.screens++;
        // Shows: four slots a day for `days` days, movies rotating across screens and days.
        const slots: { movieId: string; duration: number; startsAt: Date }[] = [];
        const today = new Date();
        today.setUTCHours(0, 0, 0, 0);
        for (let d = 0; d < days; d++) {
          let cursor = 0;
          for (const [k, hour] of SHOW_TIMES.entries()) {
            const movie = movieIds[(screenNo * 7 + d * 3 + k) % movieIds.length];
            if (movie === undefined) continue;
            const startsAt = new Date(today.getTime() + (d * 24 + hour) * 3600_000);
            if (startsAt.getTime() < Date.now() + 30 * 60_000 || startsAt.getTime() < cursor) continue;
            slots.push({ movieId: movie.id, duration: movie.duration_minutes, startsAt });
            cursor = startsAt.getTime() + (movie.duration_minutes + CLEANING_MINUTES) * 60_000;
          }
        }
        const base = 800 + i * 200;
        const prices = { standard: base, premium: base + 600, accessible: base - 200 };
        const showRes = await c.query<{ id: string }>(
          `INSERT INTO shows (movie_id, screen_id, theatre_id, starts_at, ends_at, busy_until, prices, currency, total_seats)
           SELECT m, $1, $2, s, s + make_interval(mins => d), s + make_interval(mins => d + $6), $4::jsonb, $5, $7
             FROM unnest($3::uuid[], $8::timestamptz[], $9::int[]) AS x(m, s, d)
           RETURNING id`,
          [
            screenId,
            theatreId,
            slots.map((s) => s.movieId),
            JSON.stringify(prices),
            opts.currency,
            CLEANING_MINUTES,
            seatRes.rowCount ?? 0,
            slots.map((s) => s.startsAt),
            slots.map((s) => s.duration),
          ],
        );
        const showIds = showRes.rows.map((r) => r.id);
        const seated = await c.query(
          `INSERT INTO show_seats (show_id, seat_id, row_label, row_index, number, category, aisle_after, price)
           SELECT sh.id, s.id, s.row_label, s.row_index, s.number, s.category, s.aisle_after, (sh.prices ->> s.category)::int
             FROM shows sh JOIN seats s ON s.screen_id = sh.screen_id
            WHERE sh.id = ANY($1::uuid[])`,
          [showIds],
        );
        result.shows += showIds.length;
        result.seats += seated.rowCount ?? 0;
        screenNo++;
        progress(`screens: ${screenNo}/${totalScreens} (${theatre.name}, ${seatRes.rowCount ?? 0} seats, ${showIds.length} shows)`);
      }
    });
  }

  if (opts.createAdmin === true) {
    result.admin = await demoAccount(db, 'admin@marquee.local', 'Demo Admin', 'admin');
    result.usher = await demoAccount(db, 'usher@marquee.local', 'Demo Usher', 'staff');
  }
  return result;
}

/** A demo account with a fresh random password (an existing one of that email gets it and the role). */
async function demoAccount(db: Db, email: string, name: string, role: 'admin' | 'staff'): Promise<{ email: string; password: string }> {
  const password = randomBytes(9).toString('base64url');
  await db.pool.query(
    `INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash, role = EXCLUDED.role`,
    [email, name, await hashPassword(password), role],
  );
  return { email, password };
}
