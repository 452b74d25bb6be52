/**
 * SQL of tickets. Tickets are issued by the database (the bookings_issue_tickets trigger,
 * migration 010) and listed with their booking by booking_document() and the bookings
 * feature's view; this feature only checks them in.
 */
import type { Queryable } from '../../db/pool.ts';
import type { TicketRow } from './schemas.ts';

export type CheckInOutcome = 'checked_in' | 'already_checked_in' | 'void' | 'wrong_show' | 'not_found';

export interface CheckInRow {
  outcome: CheckInOutcome;
  /** Set for every outcome but not_found. */
  ticket: TicketRow | null;
  seat: { id: string; row: string; number: number; category: string } | null;
  show: {
    id: string;
    startsAt: string;
    movie: { id: string; title: string };
    theatre: { id: string; name: string; city: string };
    screen: { id: string; name: string };
  } | null;
  holder: { name: string } | null;
}

/**
 * The whole check-in in one statement (ticket_check_in(), migration 010): locks the booking
 * row FOR SHARE, then sets checked_in_at only where it is still NULL.
 */
export async function checkIn(db: Queryable, c: { ticketId: string; showId: string | null; staffId: string }): Promise<CheckInRow> {
  const { rows } = await db.query<CheckInRow>({
    name: 'ticket_check_in',
    text: 'SELECT outcome, ticket, seat, show, holder FROM ticket_check_in($1, $2, $3)',
    values: [c.ticketId, c.showId, c.staffId],
  });
  return rows[0] as CheckInRow;
}


/** The user whose booking a ticket belongs to, or undefined for no such ticket. */
export async function ticketOwner(db: Queryable, ticketId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ user_id: string }>({
    name: 'ticket_owner',
    text: 'SELECT b.user_id FROM tickets tk JOIN bookings b ON b.id = tk.booking_id WHERE tk.id = $1',
    values: [ticketId],
  });
  return rows[0]?.user_id;
}
