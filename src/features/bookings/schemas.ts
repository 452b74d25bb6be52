import { z } from 'zod';
import { paginationQuery } from '../../domain/paging.ts';
import { seatCategory } from '../theatres/schemas.ts';
import { ticketSchema } from '../tickets/schemas.ts';

export const bookingStatus = z.enum(['pending', 'confirmed', 'cancelled', 'expired']);
export type BookingStatus = z.infer<typeof bookingStatus>;

export const holdBody = z.strictObject({
  showId: z.uuid(),
  seatIds: z
    .array(z.uuid())
    .min(1, 'Choose at least one seat.')
    .max(10, 'At most 10 seats per booking.')
    .refine((ids) => new Set(ids.map((i) => i.toLowerCase())).size === ids.length, 'Seats must be distinct.'),
});
export type HoldBody = z.output<typeof holdBody>;

export const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'Must be visible ASCII characters.');

export const confirmBody = z.strictObject({ paymentToken: z.string().min(1).max(255) });

export const historyQuery = z.object({ status: bookingStatus.optional(), ...paginationQuery });

/** GET /bookings: history filtered by the show's start (upcoming: after now, soonest first; past: before now, latest first). */
export const myHistoryQuery = z.object({
  status: bookingStatus.optional(),
  when: z
    .enum(['upcoming', 'past'])
    .optional()
    .describe('upcoming: shows starting after now, soonest first; past: shows that have started, latest first. Unset: every booking, newest booking first.'),
  ...paginationQuery,
});

export const bestSeatsBody = z.strictObject({
  count: z.number().int().min(1).max(10),
  category: seatCategory.optional(),
});

export const paymentSchema = z.object({
  id: z.uuid(),
  provider: z.string(),
  status: z.enum(['succeeded', 'failed', 'refund_pending', 'refunded']),
  amount: z.number().int(),
  currency: z.string(),
  createdAt: z.iso.datetime(),
}).meta({ id: 'Payment' });
export type PaymentDto = z.infer<typeof paymentSchema>;

export const bookingSchema = z.object({
  id: z.uuid(),
  userId: z.uuid(),
  showId: z.uuid(),
  status: bookingStatus,
  seats: z.array(z.object({ id: z.uuid(), row: z.string(), number: z.number().int(), category: z.string(), price: z.number().int() })),
  tickets: z
    .array(ticketSchema)
    .describe('One per seat, in the order of seats, once the booking is confirmed (empty before); a cancelled booking keeps them, void.'),
  total: z.number().int(),
  currency: z.string(),
  expiresAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  confirmedAt: z.iso.datetime().nullable(),
  cancelledAt: z.iso.datetime().nullable(),
  payment: paymentSchema.nullable(),
  show: z.object({
    startsAt: z.iso.datetime(),
    movie: z.object({ id: z.uuid(), title: z.string() }),
    theatre: z.object({ id: z.uuid(), name: z.string(), city: z.string() }),
    screen: z.object({ id: z.uuid(), name: z.string() }),
  }),
}).meta({ id: 'Booking' });
export type BookingDto = z.infer<typeof bookingSchema>;
