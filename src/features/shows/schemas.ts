import { z } from 'zod';
import { paginationQuery } from '../../domain/paging.ts';
import { isoDateTime } from '../../domain/schemas.ts';
import { seatCategory } from '../theatres/schemas.ts';

export const money = z.number().int('Money is an integer in minor units (cents).').min(0).max(10_000_000);

/** A screen has at most 60 rows, each of one category. */
const MAX_PRICES = 60;

export const showCreate = z.strictObject({
  movieId: z.uuid(),
  screenId: z.uuid(),
  startsAt: isoDateTime,
  // Counted before any key is validated: checking 8,000 hostile keys one by one costs 40 ms.
  prices: z.preprocess((v, ctx) => {
    if (typeof v === 'object' && v !== null && Object.keys(v).length > MAX_PRICES) ctx.addIssue({ code: 'too_big', origin: 'object', maximum: MAX_PRICES, inclusive: true, input: v, message: `At most ${MAX_PRICES} seat categories.` });
    return v;
  }, z.record(seatCategory, money).describe('Price per seat category of the screen, in minor units')),
});
export type ShowCreate = z.output<typeof showCreate>;

export const showListQuery = z
  .object({
    movieId: z.uuid().optional(),
    theatreId: z.uuid().optional(),
    city: z.string().trim().min(1).max(100).optional(),
    from: isoDateTime.optional().describe('Shows starting at or after this time (default: now)'),
    to: isoDateTime.optional().describe('Shows starting before this time'),
    ...paginationQuery,
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { path: ['to'], message: 'Must be after from.' });

export const showSchema = z.object({
  id: z.uuid(),
  movieId: z.uuid(),
  screenId: z.uuid(),
  theatreId: z.uuid(),
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime(),
  prices: z.record(z.string(), z.number().int()),
  currency: z.string(),
  status: z.enum(['scheduled', 'cancelled']),
  availableSeats: z.number().int(),
  totalSeats: z.number().int(),
  movie: z.object({ id: z.uuid(), title: z.string(), durationMinutes: z.number().int(), posterUrl: z.string().nullable(), certificate: z.string().nullable(), language: z.string() }),
  theatre: z.object({ id: z.uuid(), name: z.string(), city: z.string() }),
  screen: z.object({ id: z.uuid(), name: z.string() }),
}).meta({ id: 'Show' });
export type ShowDto = z.infer<typeof showSchema>;

export const seatStatus = z.enum(['available', 'held', 'booked']);
export type SeatStatus = z.infer<typeof seatStatus>;

export const seatMapSchema = z.object({
  showId: z.uuid(),
  seats: z.array(
    z.object({
      id: z.uuid(),
      row: z.string(),
      number: z.number().int(),
      category: z.string(),
      price: z.number().int(),
      status: seatStatus,
      aisleAfter: z.boolean().describe("An aisle runs between this seat and the next of its row (from the screen's layout)"),
    }).meta({ id: 'Seat' }),
  ),
}).meta({ id: 'SeatMap' });
export type SeatMap = z.infer<typeof seatMapSchema>;
