import { z } from 'zod';
import { paginationQuery } from '../../domain/paging.ts';

const text = (max: number) => z.string().trim().min(1, 'Must not be empty.').max(max);
const genre = z.string().trim().min(1).max(50);
/** Genres keep the case they were given; duplicates are dropped case-insensitively. */
const dedupeGenres = (list: string[]) => list.filter((g, i) => list.findIndex((x) => x.toLowerCase() === g.toLowerCase()) === i);

const movieFields = {
  title: text(300),
  description: z.string().trim().max(5000).nullable(),
  durationMinutes: z.number().int().min(1).max(600),
  language: text(50),
  genres: z.array(genre).max(20).transform(dedupeGenres),
  certificate: z.string().trim().max(20).nullable(),
  releaseDate: z.iso.date().nullable(),
  posterUrl: z.url({ protocol: /^https?$/ }).max(2000).nullable(),
};

export const movieCreate = z.strictObject({
  title: movieFields.title,
  durationMinutes: movieFields.durationMinutes,
  language: movieFields.language,
  description: movieFields.description.optional(),
  genres: movieFields.genres.optional(),
  certificate: movieFields.certificate.optional(),
  releaseDate: movieFields.releaseDate.optional(),
  posterUrl: movieFields.posterUrl.optional(),
});
export type MovieCreate = z.output<typeof movieCreate>;

export const moviePatch = z
  .strictObject({
    title: movieFields.title.optional(),
    durationMinutes: movieFields.durationMinutes.optional(),
    language: movieFields.language.optional(),
    description: movieFields.description.optional(),
    genres: movieFields.genres.optional(),
    certificate: movieFields.certificate.optional(),
    releaseDate: movieFields.releaseDate.optional(),
    posterUrl: movieFields.posterUrl.optional(),
  })
  .refine((p) => Object.keys(p).length > 0, { message: 'Give at least one field to change.' });
export type MoviePatch = z.output<typeof moviePatch>;

export const movieListQuery = z.object({
  q: z.string().trim().min(1).max(100).optional().describe('Case-insensitive search in the title'),
  genre: genre.optional(),
  language: z.string().trim().min(1).max(50).optional(),
  ...paginationQuery,
});

export const movieSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  description: z.string().nullable(),
  durationMinutes: z.number().int(),
  language: z.string(),
  genres: z.array(z.string()),
  certificate: z.string().nullable(),
  releaseDate: z.string().nullable(),
  posterUrl: z.string().nullable(),
  createdAt: z.iso.datetime(),
}).meta({ id: 'Movie' });
export type MovieDto = z.infer<typeof movieSchema>;
