/**
 * The booking engine: hold → pay → confirmed; cancel; expiry. Every seat claim is made
 * under row locks taken in a fixed order (see repo.ts), and the partial unique index
 * booking_seats_one_active_claim refuses a double claim even if this code were wrong.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Client, Db, Queryable } from '../../db/pool.ts';
import { isPgError } from '../../db/pool.ts';
import { notFound, serviceUnavailable, validationFailed } from '../../domain/errors.ts';
import type { AuthUser } from '../../domain/identity.ts';
import type { ServiceMetrics as Metrics } from '../../domain/metrics.ts';
import { decodeCursor, toPage } from '../../domain/paging.ts';
import type { PaymentService } from '../payments/service.ts';
import type { ShowService } from '../shows/service.ts';
import { ticketWithCode, type TicketCodec } from '../tickets/codes.ts';
import { bestBlock } from './best-seats.ts';
import {
  bookingCancelled,
  bookingExpired,
  bookingNotCancellable,
  holdLimitReached,
  idempotencyKeyReused,
  paymentDeclined,
  reholdCooldown,
  seatLimitReached,
  seatsUnavailable,
  showNotBookable,
} from './errors.ts';
import * as repo from './repo.ts';
import type { BookingDto, BookingStatus, HoldBody } from './schemas.ts';

export interface BookingDeps {
  db: Db;
  /** The payments feature: charges, refunds (src/features/payments/service.ts). */
  payments: PaymentService;
  shows: ShowService;
  /** Signs the tickets' codes (src/features/tickets/codes.ts): every answer with a booking carries them. */
  ticketCodes: TicketCodec;
  holdTtlSeconds: number;
  maxPendingHoldsPerUser: number;
  /** Seats one user may hold or have bought in one show (MAX_SEATS_PER_USER_PER_SHOW); 0: no cap. */
  maxSeatsPerUserPerShow: number;
  /** Seconds before a user may hold seats they cancelled or let lapse again (REHOLD_COOLDOWN_SECONDS); 0: none. */
  reholdCooldownSeconds: number;
  /** How long a hold waits for seat locks another transaction holds (then 55P03 → 503); the app passes DB_LOCK_TIMEOUT_MS; default 2000. */
  seatLockWaitMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

const cursorSchema = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

/** A booking document from SQL (booking_document()) as the API answers it: the tickets get their codes. */
function fromDocument(codes: TicketCodec, doc: repo.BookingDocument): BookingDto {
  return { ...doc, tickets: doc.tickets.map((t) => ticketWithCode(codes, t)) };
}

function toDto(codes: TicketCodec, v: repo.BookingViewRow): BookingDto {
  return {
    id: v.id,
    userId: v.user_id,
    showId: v.show_id,
    status: v.status,
    seats: v.seats,
    tickets: v.tickets.map((t) => ticketWithCode(codes, t)),
    total: v.total,
    currency: v.currency,
    expiresAt: v.expires_at.toISOString(),
    createdAt: v.created_at.toISOString(),
    confirmedAt: v.confirmed_at?.toISOString() ?? null,
    cancelledAt: v.cancelled_at?.toISOString() ?? null,
    payment:
      v.payment_id === null
        ? null
        : {
            id: v.payment_id,
            provider: v.payment_provider ?? '',
            status: v.payment_status ?? 'failed',
            amount: v.payment_amount ?? 0,
            currency: v.payment_currency ?? v.currency,
            createdAt: (v.payment_created_at ?? v.created_at).toISOString(),
          },
    show: {
      startsAt: v.starts_at.toISOString(),
      movie: { id: v.movie_id, title: v.movie_title },
      theatre: { id: v.theatre_id, name: v.theatre_name, city: v.theatre_city },
      screen: { id: v.screen_id, name: v.screen_name },
    },
  };
}

export function requestHash(body: HoldBody): string {
  const canonical = JSON.stringify({ showId: body.showId.toLowerCase(), seatIds: body.seatIds.map((s) => s.toLowerCase()).sort() });
  return createHash('sha256').update(canonical).digest('hex');
}

export function createBookingService(deps: BookingDeps) {
  const { db, payments, ticketCodes: codes } = deps;
  const count = (outcome: string) => deps.metrics?.bookings.inc({ outcome });

  /** Bookings with show, movie, theatre, screen, seats and payment: one query. */
  async function views(ids: string[], q: Queryable = db.pool): Promise<BookingDto[]> {
    if (ids.length === 0) return [];
    const rows = await repo.findBookingViews(q, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const v = byId.get(id);
      return v === undefined ? [] : [toDto(codes, v)];
    });
  }

  async function view(id: string): Promise<BookingDto> {
    const [b] = await views([id]);
    if (b === undefined) throw notFound('booking');
    return b;
  }

  async function list(f: {
    userId?: string;
    showId?: string;
    status?: BookingStatus | undefined;
    /** upcoming / past: by the show's start (soonest / latest first); unset: newest booking first. */
    when?: repo.HistoryWhen | undefined;
    limit: number;
    cursor?: string | undefined;
  }) {
    const before = decodeCursor(f.cursor, cursorSchema);
    const rows = await repo.listBookingViews(db.pool, { userId: f.userId, showId: f.showId, status: f.status, when: f.when, before, limit: f.limit + 1 });
    return toPage(rows, f.limit, (r) => [r.cursor_at, r.id], (r) => toDto(codes, r));
  }

  return {
    view,

    /**
     * Holds seats: one statement (hold_seats(), migration 009) that takes the user's advisory
     * lock, answers what is already decided without locks, locks the seats in id order
     * (waiting at most seatLockWaitMs for a claim in flight), frees lapsed holds on them,
     * claims them until now + HOLD_TTL_SECONDS and returns the booking document: one round
     * trip, replays included.
     * @throws NOT_FOUND (show), VALIDATION_FAILED (seats not of the show), SHOW_NOT_BOOKABLE,
     * HOLD_LIMIT_REACHED, SEATS_UNAVAILABLE (names only seats committed bookings hold or have bought; lapsed holds found on the way are still ended), IDEMPOTENCY_KEY_REUSED,
     * SEAT_LIMIT_REACHED (MAX_SEATS_PER_USER_PER_SHOW), REHOLD_COOLDOWN (REHOLD_COOLDOWN_SECONDS, with Retry-After);
     * a seat lock not granted within seatLockWaitMs rejects with SQLSTATE 55P03 (503, Retry-After).
     */
    async hold(user: AuthUser, body: HoldBody, idempotencyKey?: string): Promise<{ booking: BookingDto; replayed: boolean }> {
      const seatIds = [...new Set(body.seatIds.map((s) => s.toLowerCase()))].sort();
      let result: repo.HoldResult;
      // An explicit checkout rather than pool.query: pool.query destroys its client on any
      // error, and a lock timeout (55P03) is an answer here, not a broken connection.
      const client = await db.pool.connect();
      let broken: Error | undefined;
      try {
        result = await repo.holdSeats(client, {
          userId: user.id,
          showId: body.showId,
          seatIds,
          ttlSeconds: deps.holdTtlSeconds,
          // 0 turns the limit off: no user can have 2^31 - 1 pending bookings.
          maxHolds: deps.maxPendingHoldsPerUser === 0 ? 2_147_483_647 : deps.maxPendingHoldsPerUser,
          maxSeatsPerShow: deps.maxSeatsPerUserPerShow,
          cooldownSeconds: deps.reholdCooldownSeconds,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: requestHash(body),
          lockWaitMs: deps.seatLockWaitMs ?? 2000,
        });
      } catch (err) {
        if (isPgError(err) && err.code === '23505' && err.constraint === 'booking_seats_one_active_claim') {
          // The database's last line of defence fired: report it as the conflict it is.
          count('unavailable');
          throw seatsUnavailable([]);
        }
        // A seat lock not granted within lockWaitMs: 503 with Retry-After (http/problem.ts),
        // never a 409 naming seats nobody may end up holding. Counted to show how often.
        if (isPgError(err) && err.code === '55P03') count('lock_timeout');
        if (!isPgError(err)) broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        client.release(broken);
      }
      switch (result.outcome) {
        case 'held':
        case 'replayed': {
          if (result.booking === null) throw notFound('booking'); // not reached: the function returns it with these outcomes
          if (result.outcome === 'held') deps.shows.invalidateSeatMap(body.showId);
          count(result.outcome);
          return { booking: fromDocument(codes, result.booking), replayed: result.outcome === 'replayed' };
        }
        case 'key_reused':
          throw idempotencyKeyReused();
        case 'hold_limit':
          throw holdLimitReached(deps.maxPendingHoldsPerUser);
        case 'no_show':
          throw notFound('show');
        case 'show_cancelled':
          throw showNotBookable('The show was cancelled.');
        case 'show_started':
          throw showNotBookable('The show has already started.');
        case 'not_of_show': {
          const foreign = new Set(result.seat_ids ?? []);
          throw validationFailed(
            body.seatIds.flatMap((id, i) => (foreign.has(id.toLowerCase()) ? [{ path: `seatIds.${i}`, message: 'Not a seat of this show.' }] : [])),
          );
        }
        case 'unavailable':
          count('unavailable');
          throw seatsUnavailable([...(result.seat_ids ?? [])].sort());
        case 'seat_limit':
          count('seat_limit');
          throw seatLimitReached(deps.maxSeatsPerUserPerShow, result.user_seats ?? 0);
        case 'rehold_cooldown':
          count('rehold_cooldown');
          throw reholdCooldown(Math.max(1, result.retry_after ?? deps.reholdCooldownSeconds), [...(result.seat_ids ?? [])].sort());
      }
    },

    /**
     * Pays and confirms, holding no connection and no lock while the provider charges
     * (payments.pay: one statement records the attempt, the provider is called, one statement
     * settles it and returns the booking). Concurrent confirms of one booking share one
     * attempt and its idempotency key, so the provider charges once; a charge that comes back
     * after the hold was expired or the booking cancelled is refunded before the answer.
     * @throws NOT_FOUND, BOOKING_EXPIRED, BOOKING_CANCELLED, SHOW_NOT_BOOKABLE, PAYMENT_DECLINED (the hold stays),
     * SERVICE_UNAVAILABLE (the provider did not answer in PAYMENT_TIMEOUT_MS: a retry continues the same attempt).
     */
    async confirm(user: AuthUser, id: string, paymentToken: string): Promise<BookingDto> {
      const r = await payments.pay({ bookingId: id, userId: user.id, admin: user.role === 'admin', token: paymentToken });
      switch (r.outcome) {
        case 'confirmed':
          if (r.showId !== null) {
            deps.shows.invalidateSeatMap(r.showId);
            count('confirmed');
          }
          return fromDocument(codes, r.booking as repo.BookingDocument);
        case 'not_found':
          throw notFound('booking');
        case 'not_bookable':
          throw showNotBookable('The show has started or was cancelled; the booking can no longer be paid.');
        case 'cancelled':
          throw bookingCancelled();
        case 'expired':
          if (r.showId !== null) deps.shows.invalidateSeatMap(r.showId);
          count('expired');
          throw bookingExpired();
        case 'declined':
          count('declined');
          throw paymentDeclined(r.reason);
        case 'no_answer':
          throw serviceUnavailable('The payment provider did not answer in time; retry — you will not be charged twice.');
      }
    },

    /**
     * Cancels in one statement (booking_cancel(), which also returns the booking): the seats
     * are free at once and its tickets void; a confirmed booking's payment becomes
     * refund_pending and is refunded after that, outside any transaction. Cancelling a
     * cancelled booking answers it unchanged.
     * @throws NOT_FOUND; BOOKING_NOT_CANCELLABLE for an expired booking, once a ticket of it was
     * checked in, or once the show started.
     */
    async cancel(user: AuthUser, id: string): Promise<BookingDto> {
      const r = await repo.cancelBooking(db.pool, { bookingId: id, userId: user.id, admin: user.role === 'admin' });
      switch (r.outcome) {
        case 'not_found':
          throw notFound('booking');
        case 'expired':
          throw bookingNotCancellable('The booking has expired.');
        case 'checked_in':
          throw bookingNotCancellable('A ticket of this booking was checked in at the door; it can no longer be cancelled or refunded.');
        case 'started':
          throw bookingNotCancellable('The show has already started.');
        case 'unchanged':
          if (r.booking === null) throw notFound('booking'); // not reached: booking_cancel returns it with this outcome
          return fromDocument(codes, r.booking);
        case 'cancelled':
          if (r.show_id !== null) deps.shows.invalidateSeatMap(r.show_id);
          count('cancelled');
          // Refunded at once: read the booking again so the answer says so.
          if (r.refund && (await payments.refund({ bookingIds: [id] })) > 0) return view(id);
          if (r.booking === null) return view(id); // not reached: booking_cancel returns it with this outcome
          return fromDocument(codes, r.booking);
      }
    },

    /** Owner or admin; anyone else gets 404. */
    async get(user: AuthUser, id: string): Promise<BookingDto> {
      const b = await view(id);
      if (b.userId !== user.id && user.role !== 'admin') throw notFound('booking');
      return b;
    },

    list,

    /** Every booking of a show (admin). @throws NOT_FOUND for an unknown show. */
    async listOfShow(showId: string, f: { status?: BookingStatus | undefined; limit: number; cursor?: string | undefined }) {
      await deps.shows.get(showId);
      return list({ showId, ...f });
    },

    /** Suggests the best block of adjacent free seats; holds nothing. */
    async bestSeats(showId: string, n: number, category?: string) {
      const show = await deps.shows.get(showId);
      if (show.status === 'cancelled') throw showNotBookable('The show was cancelled.');
      if (new Date(show.startsAt).getTime() <= Date.now()) throw showNotBookable('The show has already started.');
      const { map } = await deps.shows.seatMap(showId);
      const block = bestBlock(map.seats, n, category);
      if (block === undefined) throw seatsUnavailable([]);
      return { seats: block };
    },

    /** Inside the show-cancel transaction: every active booking of the show is cancelled. */
    async cancelBookingsOfShow(c: Client, showId: string): Promise<string[]> {
      await repo.lockAllSeatsOfShow(c, showId);
      const ids = await repo.cancelBookingsOfShow(c, showId);
      await payments.markRefundPending(c, ids);
      return ids;
    },

    /**
     * One pass of the expiry sweep: lapsed holds become expired and their seats are
     * announced free; then payments' pass: charge attempts left open on bookings that are
     * gone are refunded by key, and pending refunds are retried. Safe with many processes
     * (SKIP LOCKED, refund leases).
     */
    async sweep(batch = 500): Promise<{ expired: number; refunded: number }> {
      const expiredRows = await repo.expireDue(db.pool, batch);
      for (const showId of new Set(expiredRows.map((r) => r.show_id))) deps.shows.invalidateSeatMap(showId);
      const expired = expiredRows.length;
      if (expired > 0) deps.metrics?.bookings.inc({ outcome: 'expired' }, expired);
      const { refunded } = await payments.sweep();
      return { expired, refunded };
    },
  };
}

export type BookingService = ReturnType<typeof createBookingService>;
