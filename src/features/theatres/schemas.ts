import { z } from 'zod';
import { paginationQuery } from '../../domain/paging.ts';

const text = (max: number) => z.string().trim().min(1, 'Must not be empty.').max(max);

export const theatreCreate = z.strictObject({ name: text(200), city: text(100), address: text(500) });
export type TheatreCreate = z.output<typeof theatreCreate>;
export const theatrePatch = z
  .strictObject({ name: text(200).optional(), city: text(100).optional(), address: text(500).optional() })
  .refine((p) => Object.keys(p).length > 0, { message: 'Give at least one field to change.' });
export type TheatrePatch = z.output<typeof theatrePatch>;

export const theatreListQuery = z.object({
  city: z.string().trim().min(1).max(100).optional(),
  q: z.string().trim().min(1).max(100).optional().describe('Case-insensitive search in the name'),
  ...paginationQuery,
});

export const seatCategory = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z][a-z0-9_-]{0,29}$/, 'Must be a short lower-case name such as "standard".');

/** At most this many aisles in one row: a wide row has two or three; ten is generous. */
const MAX_AISLES = 10;

const screenRow = z
  .strictObject({
    label: z.string().trim().min(1).max(10),
    seats: z.number().int().min(1).max(100),
    category: seatCategory,
    aisles: z
      .array(z.number().int().min(1))
      .max(MAX_AISLES)
      .optional()
      .describe('Seat numbers an aisle runs after (between seat n and n + 1), each below `seats`; none when left out'),
  })
  .superRefine((row, ctx) => {
    // Runs even when `seats` failed its own checks (those do not abort): judge aisles against a valid count only.
    if (!Number.isInteger(row.seats) || row.seats < 1) return;
    const seen = new Set<number>();
    (row.aisles ?? []).forEach((n, j) => {
      if (n >= row.seats) ctx.addIssue({ code: 'custom', path: ['aisles', j], message: `Must be below ${row.seats}: an aisle runs between two seats of the row.` });
      else if (seen.has(n)) ctx.addIssue({ code: 'custom', path: ['aisles', j], message: `The aisle after seat ${n} appears twice.` });
      seen.add(n);
    });
  });

export const screenCreate = z.strictObject({
  name: text(100),
  rows: z
    .array(screenRow)
    .min(1)
    .max(60)
    .superRefine((rows, ctx) => {
      const seen = new Set<string>();
      rows.forEach((r, i) => {
        if (seen.has(r.label)) ctx.addIssue({ code: 'custom', path: [i, 'label'], message: `Row ${r.label} appears twice.` });
        seen.add(r.label);
      });
      const total = rows.reduce((n, r) => n + r.seats, 0);
      if (total > 2000) ctx.addIssue({ code: 'custom', path: [], message: 'A screen has at most 2000 seats.' });
    }),
});
export type ScreenCreate = z.output<typeof screenCreate>;

export const screenSummary = z.object({ id: z.uuid(), name: z.string(), seatCount: z.number().int() }).meta({ id: 'ScreenSummary' });
export const theatreSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  city: z.string(),
  address: z.string(),
  createdAt: z.iso.datetime(),
}).meta({ id: 'Theatre' });
export const theatreWithScreens = theatreSchema.extend({ screens: z.array(screenSummary) }).meta({ id: 'TheatreWithScreens' });
export type TheatreDto = z.infer<typeof theatreSchema>;

export const screenSchema = z.object({
  id: z.uuid(),
  theatreId: z.uuid(),
  name: z.string(),
  seatCount: z.number().int(),
  categories: z.array(z.string()),
  seats: z.array(
    z.object({
      row: z.string(),
      number: z.number().int(),
      category: z.string(),
      aisleAfter: z.boolean().describe('An aisle runs between this seat and the next of its row'),
    }).meta({ id: 'ScreenSeat' }),
  ),
}).meta({ id: 'Screen' });
export type ScreenDto = z.infer<typeof screenSchema>;
