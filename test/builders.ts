/** Builders that make catalogue rows through the API, creating every missing parent. */
import { randomUUID } from 'node:crypto';
import type { SeatMap } from '../src/features/shows/schemas.ts';
import type { SignedIn, TestApp } from './helpers.ts';

export interface Movie {
  id: string;
  title: string;
  durationMinutes: number;
}
export interface Theatre {
  id: string;
  name: string;
  city: string;
}
export interface Screen {
  id: string;
  theatreId: string;
  seatCount: number;
}
export interface Show {
  id: string;
  screenId: string;
  theatreId: string;
  movieId: string;
  startsAt: string;
  totalSeats: number;
  availableSeats: number;
}
export type SeatMapSeat = SeatMap['seats'][number];

async function ok<T>(p: Promise<{ status: number; body: T; text: string }>, expected = 201): Promise<T> {
  const res = await p;
  if (res.status !== expected) throw new Error(`expected ${expected}, got ${res.status}: ${res.text}`);
  return res.body;
}

export function makeMovie(t: TestApp, admin: SignedIn, over: Record<string, unknown> = {}): Promise<Movie> {
  return ok(
    t.request<Movie>('POST', '/api/v1/movies', {
      token: admin.token,
      body: { title: `Movie ${randomUUID().slice(0, 8)}`, durationMinutes: 120, language: 'English', genres: ['drama'], ...over },
    }),
  );
}

export function makeTheatre(t: TestApp, admin: SignedIn, over: Record<string, unknown> = {}): Promise<Theatre> {
  return ok(
    t.request<Theatre>('POST', '/api/v1/theatres', {
      token: admin.token,
      body: { name: `Cinema ${randomUUID().slice(0, 8)}`, city: 'Springfield', address: '1 Main Street', ...over },
    }),
  );
}

/** A row of a screen's layout, as POST /theatres/{id}/screens takes it. */
export interface LayoutRow {
  label: string;
  seats: number;
  category: string;
  /** Seat numbers an aisle runs after. */
  aisles?: number[];
}

/** Three rows, 16 seats; an aisle after seat 3 of the two standard rows. */
export const smallLayout: LayoutRow[] = [
  { label: 'A', seats: 6, category: 'standard', aisles: [3] },
  { label: 'B', seats: 6, category: 'standard', aisles: [3] },
  { label: 'C', seats: 4, category: 'premium' },
];

export async function makeScreen(
  t: TestApp,
  admin: SignedIn,
  opts: { theatreId?: string; rows?: LayoutRow[] } = {},
): Promise<Screen> {
  const theatreId = opts.theatreId ?? (await makeTheatre(t, admin)).id;
  return ok(
    t.request<Screen>('POST', `/api/v1/theatres/${theatreId}/screens`, {
      token: admin.token,
      body: { name: `Screen ${randomUUID().slice(0, 6)}`, rows: opts.rows ?? smallLayout },
    }),
  );
}

let dayOffset = 0;
/** A start time in the future, different for every call so shows do not overlap by accident. */
export function futureStart(): string {
  dayOffset += 1;
  return new Date(Date.now() + dayOffset * 24 * 3600_000).toISOString();
}

export async function makeShow(
  t: TestApp,
  admin: SignedIn,
  opts: { movieId?: string; screenId?: string; startsAt?: string; prices?: Record<string, number>; rows?: LayoutRow[] } = {},
): Promise<Show> {
  const movieId = opts.movieId ?? (await makeMovie(t, admin)).id;
  const screenId = opts.screenId ?? (await makeScreen(t, admin, opts.rows ? { rows: opts.rows } : {})).id;
  let prices = opts.prices;
  if (prices === undefined) {
    const screen = await ok(t.request<{ categories: string[] }>('GET', `/api/v1/screens/${screenId}`), 200);
    prices = Object.fromEntries(screen.categories.map((c, i) => [c, 1000 + i * 500]));
  }
  return ok(
    t.request<Show>('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId, screenId, startsAt: opts.startsAt ?? futureStart(), prices },
    }),
  );
}

export async function seatMap(t: TestApp, showId: string): Promise<SeatMapSeat[]> {
  const body = await ok(t.request<{ seats: SeatMapSeat[] }>('GET', `/api/v1/shows/${showId}/seats`), 200);
  return body.seats;
}
