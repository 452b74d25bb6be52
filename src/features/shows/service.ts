/**
 * Shows: a movie on a screen at a time, with a price per seat category, and its own seats.
 * The database refuses overlapping shows on one screen (exclusion constraint); the code
 * only turns that refusal into 409 SHOW_OVERLAP.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Client, Db } from '../../db/pool.ts';
import { isPgError } from '../../db/pool.ts';
import { conflict, notFound, validationFailed } from '../../domain/errors.ts';
import { decodeCursor, toPage } from '../../domain/paging.ts';
import * as repo from './repo.ts';
import type { SeatEventHub } from './seat-events.ts';
import type { SeatMap, ShowCreate, ShowDto } from './schemas.ts';

export function toShowDto(r: repo.ShowRow): ShowDto {
  return {
    id: r.id,
    movieId: r.movie_id,
    screenId: r.screen_id,
    theatreId: r.theatre_id,
    startsAt: r.starts_at.toISOString(),
    endsAt: r.ends_at.toISOString(),
    prices: r.prices,
    currency: r.currency,
    status: r.status,
    availableSeats: r.available_seats,
    totalSeats: r.total_seats,
    movie: {
      id: r.movie_id,
      title: r.movie_title,
      durationMinutes: r.movie_duration,
      posterUrl: r.movie_poster_url,
      certificate: r.movie_certificate,
      language: r.movie_language,
    },
    theatre: { id: r.theatre_id, name: r.theatre_name, city: r.theatre_city },
    screen: { id: r.screen_id, name: r.screen_name },
  };
}

const cursorSchema = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

export const showOverlap = () =>
  conflict('SHOW_OVERLAP', 'Show overlap', 'The screen is already busy then (another show plus its cleaning time).');
export const showNotCancellable = () =>
  conflict('SHOW_NOT_CANCELLABLE', 'Show not cancellable', 'The show has already started.');

/** Called inside the cancel transaction, so a cancelled show never keeps live bookings. */
export type OnShowCancelled = (client: Client, showId: string) => Promise<void>;

export interface SeatMapWithTag {
  map: SeatMap;
  /** The serialized map, encoded once. */
  body: Buffer;
  etag: string;
}

/** How long a cached seat map may be served at most, even with no change announced. */
const SEAT_MAP_MAX_AGE_MS = 30_000;
const SEAT_MAP_CACHE_SIZE = 2000;

export function createShowService(deps: { db: Db; currency: string; cleaningMinutes: number; now?: () => Date; hub?: SeatEventHub }) {
  const { db } = deps;

  // Seat-map cache: the serialized map and its ETag per show, dropped when the show's claims
  // change (announced by a trigger to every process) and never served past the first hold
  // lapse it contains. Trusted only while invalidations arrive (LISTEN connection up).
  const cache = new Map<string, SeatMapWithTag & { validUntil: number }>();
  const invalidatedAt = new Map<string, number>();
  let generation = 0;
  let resetAt = 0;
  const invalidateSeatMap = (showId: string | null) => {
    generation++;
    if (showId === null || invalidatedAt.size > 10_000) {
      cache.clear();
      invalidatedAt.clear();
      resetAt = generation;
    } else {
      cache.delete(showId);
      invalidatedAt.set(showId, generation);
    }
  };
  deps.hub?.onSeatMapChanged(invalidateSeatMap);
  const inflight = new Map<string, { promise: Promise<SeatMapWithTag & { validUntil: number }>; startedAt: number }>();

  async function readSeatMap(showId: string, startedAt: number): Promise<SeatMapWithTag & { validUntil: number }> {
    const rows = await repo.seatMap(db.pool, showId);
    if (rows.length === 0 && !(await repo.showExists(db.pool, showId))) throw notFound('show');
    const map: SeatMap = {
      showId,
      seats: rows.map((r) => ({ id: r.id, row: r.row, number: r.number, category: r.category, price: r.price, status: r.status, aisleAfter: r.aisle_after })),
    };
    const body = Buffer.from(JSON.stringify(map));
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    let ttl = SEAT_MAP_MAX_AGE_MS;
    for (const r of rows) {
      if (r.hold_ms_left !== null) ttl = Math.min(ttl, r.hold_ms_left);
    }
    const entry = { map, body, etag, validUntil: Date.now() + ttl };
    // Store only if nothing about this show changed while we were reading it.
    if (cacheUsable() && ttl > 0 && Math.max(invalidatedAt.get(showId) ?? 0, resetAt) <= startedAt) {
      if (cache.size >= SEAT_MAP_CACHE_SIZE) cache.delete(cache.keys().next().value ?? '');
      cache.set(showId, entry);
    }
    return entry;
  }
  const cacheUsable = () => deps.hub?.listening() ?? false;

  const now = deps.now ?? (() => new Date());
  let onCancelled: OnShowCancelled = () => Promise.resolve();
  let afterCancelled: (showId: string) => Promise<void> = () => Promise.resolve();

  async function get(id: string): Promise<ShowDto> {
    const row = await repo.findShow(db.pool, id);
    if (row === undefined) throw notFound('show');
    return toShowDto(row);
  }

  return {
    get,
    /** inTx runs inside the cancel transaction; after runs once it committed (refunds). */
    setOnCancelled(inTx: OnShowCancelled, after?: (showId: string) => Promise<void>) {
      onCancelled = inTx;
      if (after) afterCancelled = after;
    },

    /**
     * @throws NOT_FOUND for an unknown movie or screen; VALIDATION_FAILED for a start in the
     * past or prices that do not match the screen's categories; SHOW_OVERLAP.
     */
    async create(input: ShowCreate): Promise<ShowDto> {
      if (input.startsAt.getTime() <= now().getTime()) {
        throw validationFailed([{ path: 'startsAt', message: 'Must be in the future.' }]);
      }
      const id = await db.tx(async (c) => {
        // Share locks: a movie or theatre cannot be removed while a show of it is being added.
        const movie = await repo.shareLockMovie(c, input.movieId);
        if (movie === undefined) throw notFound('movie');
        const screen = await repo.shareLockScreen(c, input.screenId);
        if (screen === undefined) throw notFound('screen');

        const categories = await repo.screenCategories(c, screen.id);
        const errors = [
          ...categories.filter((k) => input.prices[k] === undefined).map((k) => ({ path: `prices.${k}`, message: `Seats of category "${k}" need a price.` })),
          ...Object.keys(input.prices)
            .filter((k) => !categories.includes(k))
            .map((k) => ({ path: `prices.${k}`, message: `The screen has no seats of category "${k}".` })),
        ];
        if (categories.length === 0) errors.push({ path: 'screenId', message: 'The screen has no seats.' });
        if (errors.length > 0) throw validationFailed(errors);

        let showId: string;
        try {
          showId = await repo.insertShow(c, {
            movieId: movie.id,
            screenId: screen.id,
            theatreId: screen.theatre_id,
            startsAt: input.startsAt,
            durationMinutes: movie.duration_minutes,
            cleaningMinutes: deps.cleaningMinutes,
            prices: input.prices,
            currency: deps.currency,
          });
        } catch (err) {
          if (isPgError(err) && err.code === '23P01') throw showOverlap();
          throw err;
        }
        await repo.insertShowSeats(c, showId, screen.id, input.prices);
        return showId;
      });
      return get(id);
    },

    async list(q: {
      movieId?: string | undefined;
      theatreId?: string | undefined;
      city?: string | undefined;
      from?: Date | undefined;
      to?: Date | undefined;
      limit: number;
      cursor?: string | undefined;
    }) {
      const cursor = decodeCursor(q.cursor, cursorSchema);
      const rows = await repo.listShows(db.pool, {
        movieId: q.movieId,
        theatreId: q.theatreId,
        city: q.city,
        from: q.from ?? now(),
        to: q.to,
        after: cursor,
        limit: q.limit + 1,
      });
      return toPage(rows, q.limit, (r) => [r.starts_at.toISOString(), r.id], toShowDto);
    },

    /** The seat map with a strong ETag over its exact bytes; cached per show (see above). */
    async seatMap(id: string): Promise<SeatMapWithTag> {
      const showId = id.toLowerCase();
      const hit = cache.get(showId);
      if (hit !== undefined && Date.now() < hit.validUntil && cacheUsable()) return hit;
      // Single flight: misses for one show share one query, as long as nothing about the
      // show changed since it started (so a reader never gets a map older than its request).
      const flying = inflight.get(showId);
      if (flying !== undefined && Math.max(invalidatedAt.get(showId) ?? 0, resetAt) <= flying.startedAt) return flying.promise;
      const startedAt = generation;
      const promise = readSeatMap(showId, startedAt);
      inflight.set(showId, { promise, startedAt });
      try {
        return await promise;
      } finally {
        if (inflight.get(showId)?.promise === promise) inflight.delete(showId);
      }
    },

    /** Drops this process's cached map at once (a write here committed; the trigger's notice follows). */
    invalidateSeatMap(showId: string): void {
      invalidateSeatMap(showId.toLowerCase());
    },

    /**
     * Cancels a show and, in the same transaction, its active bookings. Cancelling a
     * cancelled show answers it unchanged. @throws SHOW_NOT_CANCELLABLE once it started.
     */
    async cancel(id: string): Promise<ShowDto> {
      const changed = await db.tx(async (c) => {
        const show = await repo.lockShow(c, id);
        if (show === undefined) throw notFound('show');
        if (show.status === 'cancelled') return false;
        if (show.starts_at.getTime() <= now().getTime()) throw showNotCancellable();
        await repo.markShowCancelled(c, id);
        await onCancelled(c, id);
        return true;
      });
      if (changed) {
        invalidateSeatMap(id);
        await afterCancelled(id);
      }
      return get(id);
    },
  };
}

export type ShowService = ReturnType<typeof createShowService>;
