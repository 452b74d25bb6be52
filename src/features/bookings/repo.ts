/**
 * SQL of the booking engine. Lock order, everywhere: the per-user advisory lock, then
 * show_seats rows in ascending id order, then booking rows. Nothing takes them the other
 * way round, so two transactions can queue on each other but never deadlock.
 */
import type { Queryable } from '../../db/pool.ts';
import type { TicketRow } from '../tickets/schemas.ts';
import type { BookingDto, BookingStatus } from './schemas.ts';

/** The booking as booking_document() (migrations 009, 010) builds it: BookingDto but the tickets' codes. */
export type BookingDocument = Omit<BookingDto, 'tickets'> & { tickets: TicketRow[] };

export type HoldOutcome =
  | 'held'
  | 'replayed'
  | 'key_reused'
  | 'hold_limit'
  | 'no_show'
  | 'show_cancelled'
  | 'show_started'
  | 'not_of_show'
  | 'unavailable'
  | 'seat_limit'
  | 'rehold_cooldown';

export interface HoldResult {
  outcome: HoldOutcome;
  /** not_of_show, unavailable, rehold_cooldown: the seats concerned. */
  seat_ids: string[] | null;
  /** rehold_cooldown: seconds until every requested seat is out of the cool-down. */
  retry_after: number | null;
  /** seat_limit: seats the user already holds or has bought in the show. */
  user_seats: number | null;
  /** held, replayed: the booking as the API answers it (but the ticket codes), built by booking_document() (migrations 009, 010). */
  booking: BookingDocument | null;
}

/**
 * The whole hold transaction and its answer in one round trip: the hold_seats function
 * (migrations 004, 006, 009), one named (prepared once per connection) statement.
 * maxSeatsPerShow and cooldownSeconds: 0 turns the check off. lockWaitMs bounds the wait for
 * seats another transaction is claiming (then SQLSTATE 55P03).
 */
export async function holdSeats(
  db: Queryable,
  h: {
    userId: string;
    showId: string;
    seatIds: string[];
    ttlSeconds: number;
    maxHolds: number;
    maxSeatsPerShow: number;
    cooldownSeconds: number;
    idempotencyKey: string | null;
    requestHash: string;
    lockWaitMs: number;
  },
): Promise<HoldResult> {
  const { rows } = await db.query<HoldResult>({
    name: 'hold_seats_009',
    text: `SELECT outcome, seat_ids, retry_after, user_seats, booking FROM hold_seats($1, $2, $3::uuid[], $4, $5, $6, $7, $8, $9, $10)`,
    values: [h.userId, h.showId, h.seatIds, h.ttlSeconds, h.maxHolds, h.maxSeatsPerShow, h.cooldownSeconds, h.idempotencyKey, h.requestHash, h.lockWaitMs],
  });
  return rows[0] as HoldResult;
}

/** Locks every seat of a show, in id order (show cancellation). */
export async function lockAllSeatsOfShow(db: Queryable, showId: string): Promise<void> {
  await db.query(`SELECT id FROM show_seats WHERE show_id = $1 ORDER BY id FOR UPDATE`, [showId]);
}

export type CancelOutcome = 'cancelled' | 'unchanged' | 'expired' | 'checked_in' | 'started' | 'not_found';

export interface CancelRow {
  outcome: CancelOutcome;
  /** cancelled: the show whose seats were freed. */
  show_id: string | null;
  /** cancelled: its successful payment is refund_pending now (payments.refund gives it back). */
  refund: boolean;
  /** cancelled, unchanged: the booking document (booking_document()). */
  booking: BookingDocument | null;
}

/**
 * The whole cancel in one statement (booking_cancel(), migrations 008, 010): locks the booking row,
 * checks owner (an admin may cancel anyone's), status, lapse, checked-in tickets and start, sets it cancelled
 * (its claims follow by cascade), moves a confirmed booking's payment to refund_pending and
 * returns the booking.
 */
export async function cancelBooking(db: Queryable, c: { bookingId: string; userId: string; admin: boolean }): Promise<CancelRow> {
  const { rows } = await db.query<CancelRow>({
    name: 'booking_cancel',
    text: 'SELECT outcome, show_id, refund, booking FROM booking_cancel($1, $2, $3)',
    values: [c.bookingId, c.userId, c.admin],
  });
  return rows[0] as CancelRow;
}

/** Cancels every active booking of a show (its seats are already locked); returns them. */
export async function cancelBookingsOfShow(db: Queryable, showId: string) {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE bookings SET status = 'cancelled', cancelled_at = now()
      WHERE show_id = $1 AND status IN ('pending', 'confirmed')
      RETURNING id`,
    [showId],
  );
  return rows.map((r) => r.id);
}

/** The expiry sweep: lapsed holds, oldest first, skipping rows another process is working on. */
export async function expireDue(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: string; show_id: string }>(
    `WITH due AS (
       SELECT id FROM bookings WHERE status = 'pending' AND expires_at <= now()
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     UPDATE bookings b SET status = 'expired', expired_at = now() FROM due WHERE b.id = due.id
     RETURNING b.id, b.show_id`,
    [limit],
  );
  return rows;
}

// ---- reads ------------------------------------------------------------------------------

export interface BookingViewRow {
  id: string;
  user_id: string;
  show_id: string;
  status: BookingStatus;
  total: number;
  currency: string;
  expires_at: Date;
  created_at: Date;
  confirmed_at: Date | null;
  cancelled_at: Date | null;
  starts_at: Date;
  movie_id: string;
  movie_title: string;
  theatre_id: string;
  theatre_name: string;
  theatre_city: string;
  screen_id: string;
  screen_name: string;
  payment_id: string | null;
  payment_provider: string | null;
  payment_status: 'succeeded' | 'failed' | 'refund_pending' | 'refunded' | null;
  payment_amount: number | null;
  payment_currency: string | null;
  payment_created_at: Date | null;
  seats: { id: string; row: string; number: number; category: string; price: number }[];
  tickets: TicketRow[];
  /** created_at to the microsecond (ISO, UTC): the keyset cursor. A Date keeps only milliseconds, and a cursor cut to them skipped rows created later in the same millisecond. */
  cursor_at: string;
}

/** A lapsed pending booking reads as expired whether or not the sweep has run. */
const EFFECTIVE_STATUS = `CASE WHEN b.status = 'pending' AND b.expires_at <= now() THEN 'expired' ELSE b.status END`;

const VIEW_SELECT = `
  SELECT b.id, b.user_id, b.show_id, ${EFFECTIVE_STATUS} AS status,
         to_char(%CURSOR_COLUMN% AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at, st.seats, tk.tickets, b.total, b.currency, b.expires_at, b.created_at,
         b.confirmed_at, b.cancelled_at, s.starts_at,
         m.id AS movie_id, m.title AS movie_title, t.id AS theatre_id, t.name AS theatre_name, t.city AS theatre_city,
         sc.id AS screen_id, sc.name AS screen_name,
         p.id AS payment_id, p.provider AS payment_provider, p.status AS payment_status, p.amount AS payment_amount,
         p.currency AS payment_currency, p.created_at AS payment_created_at
    FROM bookings b
    JOIN shows s ON s.id = b.show_id
    JOIN movies m ON m.id = s.movie_id
    JOIN theatres t ON t.id = s.theatre_id
    JOIN screens sc ON sc.id = s.screen_id
    LEFT JOIN LATERAL (
      SELECT * FROM payments p WHERE p.booking_id = b.id AND p.status <> 'processing'
       ORDER BY (p.status <> 'failed') DESC, p.created_at DESC LIMIT 1
    ) p ON true
    CROSS JOIN LATERAL (
      SELECT coalesce(json_agg(json_build_object('id', ss.id, 'row', ss.row_label, 'number', ss.number, 'category', ss.category, 'price', bs.price)
                      ORDER BY ss.row_index, ss.number), '[]') AS seats
        FROM booking_seats bs JOIN show_seats ss ON ss.id = bs.show_seat_id
       WHERE bs.booking_id = b.id
    ) st
    CROSS JOIN LATERAL (
      -- Only a confirmation issues tickets, and it sets confirmed_at: a booking never confirmed has none.
      SELECT CASE WHEN b.confirmed_at IS NULL THEN '[]'::json ELSE (
        SELECT coalesce(json_agg(json_build_object('id', tk.id, 'seatId', tk.show_seat_id, 'status', ticket_status(b.status, tk.checked_in_at),
                                                   'checkedInAt', api_timestamp(tk.checked_in_at))
                        ORDER BY ss.row_index, ss.number), '[]')
          FROM tickets tk JOIN show_seats ss ON ss.id = tk.show_seat_id
         WHERE tk.booking_id = b.id) END AS tickets
    ) tk`;

export type HistoryWhen = 'upcoming' | 'past';

/**
 * The keyset order of each listing: unfiltered history by booking creation, newest first;
 * upcoming by the show's start, soonest first; past by the show's start, latest first. The
 * cursor is the order's (time, id) of the last row: a cursor belongs to the listing that gave it.
 */
const ORDERS: Record<HistoryWhen | 'created', { column: string; filter: string; after: string; orderBy: string }> = {
  created: { column: 'b.created_at', filter: 'true', after: '(b.created_at, b.id) < ($4::timestamptz, $5::uuid)', orderBy: 'b.created_at DESC, b.id DESC' },
  upcoming: { column: 's.starts_at', filter: 's.starts_at > now()', after: '(s.starts_at, b.id) > ($4::timestamptz, $5::uuid)', orderBy: 's.starts_at ASC, b.id ASC' },
  past: { column: 's.starts_at', filter: 's.starts_at <= now()', after: '(s.starts_at, b.id) < ($4::timestamptz, $5::uuid)', orderBy: 's.starts_at DESC, b.id DESC' },
};

const viewSelect = (cursorColumn: string) => VIEW_SELECT.replace('%CURSOR_COLUMN%', cursorColumn);

const FIND_BOOKING_VIEWS = `${viewSelect('b.created_at')} WHERE b.id = ANY($1::uuid[])`;

/**
 * A named statement: each connection parses and plans it once, not on every read (seven
 * joins and three laterals; the plan does not depend on the ids). Measured with
 * `npx tsx bench/stack.ts --only booking`: 873 → 1,113 reads/s.
 */
export async function findBookingViews(db: Queryable, ids: string[]) {
  const { rows } = await db.query<BookingViewRow>({ name: 'find-booking-views', text: FIND_BOOKING_VIEWS, values: [ids] });
  return rows;
}

/** History (by default newest first; `when`: by the show's start), keyset-paged. */
export async function listBookingViews(
  db: Queryable,
  f: {
    userId?: string | undefined;
    showId?: string | undefined;
    status?: BookingStatus | undefined;
    when?: HistoryWhen | undefined;
    before?: [string, string] | undefined;
    limit: number;
  },
) {
  const order = ORDERS[f.when ?? 'created'];
  const { rows } = await db.query<BookingViewRow>(
    `${viewSelect(order.column)}
      WHERE ($1::uuid IS NULL OR b.user_id = $1)
        AND ($2::uuid IS NULL OR b.show_id = $2)
        AND ($3::text IS NULL OR ${EFFECTIVE_STATUS} = $3)
        AND ${order.filter}
        AND ($4::timestamptz IS NULL OR ${order.after})
      ORDER BY ${order.orderBy}
      LIMIT $6`,
    [f.userId ?? null, f.showId ?? null, f.status ?? null, f.before?.[0] ?? null, f.before?.[1] ?? null, f.limit],
  );
  return rows;
}
