/**
 * Tickets: one per seat of a confirmed booking. The Ticket schema is part of the Booking
 * (src/features/bookings/schemas.ts) and of the check-in answer.
 */
import { z } from 'zod';

/** valid: may be checked in; checked_in: scanned once at the door; void: its booking was cancelled. */
export const ticketStatus = z.enum(['valid', 'checked_in', 'void']);
export type TicketStatus = z.infer<typeof ticketStatus>;

/** The longest code the API looks at; a real one is 44 characters. */
const MAX_CODE_LENGTH = 200;

export const ticketCode = z
  .string()
  .min(1)
  .max(MAX_CODE_LENGTH)
  .describe('The ticket code, opaque: URL-safe ASCII, signed by the server; percent-encode it in a URL.');

export const ticketSchema = z
  .object({
    id: z.uuid(),
    seatId: z.uuid().describe('The seat this ticket admits to: one of the booking’s seats[].id.'),
    code: ticketCode,
    status: ticketStatus,
    checkedInAt: z.iso.datetime().nullable().describe('When the ticket was scanned at the door (the first scan); null until then.'),
  })
  .meta({ id: 'Ticket' });
export type TicketDto = z.infer<typeof ticketSchema>;
/** A ticket as the database lists it (booking_document(), the booking reads, ticket_check_in()): the API's Ticket without its code, which the server adds (codes.ts). */
export type TicketRow = Omit<TicketDto, 'code'>;

export const checkInBody = z.strictObject({
  code: ticketCode,
  showId: z.uuid().optional().describe('The show this door admits to: a ticket of another show answers 409 WRONG_SHOW.'),
});
export type CheckInBody = z.output<typeof checkInBody>;

export const codeParams = z.object({ code: ticketCode });

export const ticketShowSchema = z
  .object({
    id: z.uuid(),
    startsAt: z.iso.datetime(),
    movie: z.object({ id: z.uuid(), title: z.string() }),
    theatre: z.object({ id: z.uuid(), name: z.string(), city: z.string() }),
    screen: z.object({ id: z.uuid(), name: z.string() }),
  })
  .meta({ id: 'TicketShow' });
export type TicketShowDto = z.infer<typeof ticketShowSchema>;

export const checkInSchema = z
  .object({
    ticket: ticketSchema,
    seat: z.object({ id: z.uuid(), row: z.string(), number: z.number().int(), category: z.string() }),
    show: ticketShowSchema,
    holderName: z.string().describe('Whose booking it is: the name only, for the usher to greet.'),
  })
  .meta({ id: 'CheckIn' });
export type CheckInDto = z.infer<typeof checkInSchema>;
