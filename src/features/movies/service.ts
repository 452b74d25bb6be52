/** Movies: public reads, admin writes. Removal is a soft delete so booking history keeps working. */
import type { Db } from '../../db/pool.ts';
import { conflict, notFound } from '../../domain/errors.ts';
import { decodeCursor, toPage } from '../../domain/paging.ts';
import { z } from 'zod';
import * as repo from './repo.ts';
import type { MovieCreate, MovieDto, MoviePatch } from './schemas.ts';

export function toMovieDto(r: repo.MovieRow): MovieDto {
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    durationMinutes: r.duration_minutes,
    language: r.language,
    genres: r.genres,
    certificate: r.certificate,
    releaseDate: r.release_date,
    posterUrl: r.poster_url,
    createdAt: r.created_at.toISOString(),
  };
}

const cursorSchema = z.tuple([z.string(), z.uuid()]);

export const hasDependents = (what: string) =>
  conflict('HAS_DEPENDENTS', 'Has dependents', `This ${what} still has upcoming shows; cancel them first.`);

export function createMovieService(db: Db) {
  return {
    async create(input: MovieCreate): Promise<MovieDto> {
      return toMovieDto(await repo.insertMovie(db.pool, input));
    },

    /** @throws NOT_FOUND for an unknown or removed movie. */
    async get(id: string): Promise<MovieDto> {
      const row = await repo.findMovie(db.pool, id);
      if (row === undefined) throw notFound('movie');
      return toMovieDto(row);
    },

    async list(q: { q?: string | undefined; genre?: string | undefined; language?: string | undefined; limit: number; cursor?: string | undefined }) {
      const after = decodeCursor(q.cursor, cursorSchema);
      const rows = await repo.listMovies(db.pool, { q: q.q, genre: q.genre, language: q.language, after, limit: q.limit + 1 });
      return toPage(rows, q.limit, (r) => [r.title, r.id], toMovieDto);
    },

    async update(id: string, patch: MoviePatch): Promise<MovieDto> {
      const row = await repo.updateMovie(db.pool, id, patch);
      if (row === undefined) throw notFound('movie');
      return toMovieDto(row);
    },

    /**
     * Soft-deletes a movie. The movie row is locked first, and show creation takes a share
     * lock on it, so a show cannot be added between the check and the delete.
     * @throws HAS_DEPENDENTS while the movie has upcoming shows.
     */
    async remove(id: string): Promise<void> {
      await db.tx(async (c) => {
        const row = await repo.findMovie(c, id, { lock: 'update' });
        if (row === undefined) throw notFound('movie');
        if ((await repo.countUpcomingShowsOfMovie(c, id)) > 0) throw hasDependents('movie');
        await repo.softDeleteMovie(c, id);
      });
    },
  };
}

export type MovieService = ReturnType<typeof createMovieService>;
