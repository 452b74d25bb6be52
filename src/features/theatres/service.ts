/** Theatres and their screens. A screen's physical seats are stored once, at creation. */
import { z } from 'zod';
import type { Db } from '../../db/pool.ts';
import { isPgError } from '../../db/pool.ts';
import { conflict, notFound } from '../../domain/errors.ts';
import { decodeCursor, toPage } from '../../domain/paging.ts';
import { hasDependents } from '../movies/service.ts';
import * as repo from './repo.ts';
import type { ScreenCreate, ScreenDto, TheatreCreate, TheatreDto, TheatrePatch } from './schemas.ts';

export function toTheatreDto(r: repo.TheatreRow): TheatreDto {
  return { id: r.id, name: r.name, city: r.city, address: r.address, createdAt: r.created_at.toISOString() };
}

const cursorSchema = z.tuple([z.string(), z.uuid()]);

export function createTheatreService(db: Db) {
  async function getScreen(id: string): Promise<ScreenDto> {
    const screen = await repo.findScreen(db.pool, id);
    if (screen === undefined) throw notFound('screen');
    const seats = await repo.listSeats(db.pool, id);
    return {
      id: screen.id,
      theatreId: screen.theatre_id,
      name: screen.name,
      seatCount: seats.length,
      categories: [...new Set(seats.map((s) => s.category))].sort(),
      seats: seats.map((s) => ({ row: s.row_label, number: s.number, category: s.category, aisleAfter: s.aisle_after })),
    };
  }

  return {
    async create(input: TheatreCreate) {
      return toTheatreDto(await repo.insertTheatre(db.pool, input));
    },

    /** @throws NOT_FOUND for an unknown or removed theatre. */
    async get(id: string) {
      const row = await repo.findTheatre(db.pool, id);
      if (row === undefined) throw notFound('theatre');
      const screens = await repo.listScreenSummaries(db.pool, id);
      return { ...toTheatreDto(row), screens: screens.map((s) => ({ id: s.id, name: s.name, seatCount: s.seat_count })) };
    },

    async list(q: { city?: string | undefined; q?: string | undefined; limit: number; cursor?: string | undefined }) {
      const after = decodeCursor(q.cursor, cursorSchema);
      const rows = await repo.listTheatres(db.pool, { city: q.city, q: q.q, after, limit: q.limit + 1 });
      return toPage(rows, q.limit, (r) => [r.name, r.id], toTheatreDto);
    },

    async update(id: string, patch: TheatrePatch) {
      const row = await repo.updateTheatre(db.pool, id, patch);
      if (row === undefined) throw notFound('theatre');
      return toTheatreDto(row);
    },

    /** @throws HAS_DEPENDENTS while the theatre has upcoming shows. */
    async remove(id: string): Promise<void> {
      await db.tx(async (c) => {
        if ((await repo.findTheatre(c, id, { lock: 'update' })) === undefined) throw notFound('theatre');
        if ((await repo.countUpcomingShowsOfTheatre(c, id)) > 0) throw hasDependents('theatre');
        await repo.softDeleteTheatre(c, id);
      });
    },

    /** Creates a screen and all its seats in one transaction. @throws SCREEN_NAME_TAKEN */
    async addScreen(theatreId: string, input: ScreenCreate): Promise<ScreenDto> {
      const screenId = await db.tx(async (c) => {
        if ((await repo.findTheatre(c, theatreId, { lock: 'share' })) === undefined) throw notFound('theatre');
        let screen: repo.ScreenRow;
        try {
          screen = await repo.insertScreen(c, theatreId, input.name);
        } catch (err) {
          if (isPgError(err) && err.code === '23505') {
            throw conflict('SCREEN_NAME_TAKEN', 'Screen name taken', 'This theatre already has a screen with that name.');
          }
          throw err;
        }
        await repo.insertSeats(c, screen.id, input.rows);
        return screen.id;
      });
      return getScreen(screenId);
    },

    getScreen,
  };
}

export type TheatreService = ReturnType<typeof createTheatreService>;
