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
import type { AuthUser } from '../../http/auth.ts';
import { notFound, serviceUnavailable, validationFailed } from '../../http/errors.ts';
import type { Metrics } from '../../http/metrics.ts';
import { decodeCursor, toPage } from '../../http/schemas.ts';
import type { PaymentProvider } from '../payments/provider.ts';
import type { ShowService } from '../shows/service.ts';
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
import type { BookingDto, BookingStatus, HoldBody, WebhookEvent } from './schemas.ts';

/**
 * A provider that does not answer in time: the confirm answers 503 and may be retried; the
 * provider's idempotency key (the booking id) makes sure a retry never charges twice. The
 * bound stays below idle_in_transaction_session_timeout so the transaction is never killed
 * under a charge.
 */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(serviceUnavailable('The payment provider did not answer in time; retry — you will not be charged twice.')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface BookingDeps {
  db: Db;
  payments: PaymentProvider;
  shows: ShowService;
  holdTtlSeconds: number;
  maxPendingHoldsPerUser: number;
  /** Seats one user may hold or have bought in one show (MAX_SEATS_PER_USER_PER_SHOW); 0: no cap. */
  maxSeatsPerUserPerShow: number;
  /** Seconds before a user may hold seats they cancelled or let lapse again (REHOLD_COOLDOWN_SECONDS); 0: none. */
  reholdCooldownSeconds: number;
  paymentTimeoutMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

const cursorSchema = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

function toDto(v: repo.BookingViewRow): BookingDto {
  return {
    id: v.id,
    userId: v.user_id,
    showId: v.show_id,
    status: v.status,
    seats: v.seats,
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
  const { db, payments } = deps;
  const count = (outcome: string) => deps.metrics?.bookings.inc({ outcome });

  /** Bookings with show, movie, theatre, screen, seats and payment: one query. */
  async function views(ids: string[], q: Queryable = db.pool): Promise<BookingDto[]> {
    if (ids.length === 0) return [];
    const rows = await repo.findBookingViews(q, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const v = byId.get(id);
      return v === undefined ? [] : [toDto(v)];
    });
  }

  async function view(id: string): Promise<BookingDto> {
    const [b] = await views([id]);
    if (b === undefined) throw notFound('booking');
    return b;
  }

  async function list(f: { userId?: string; showId?: string; status?: BookingStatus | undefined; limit: number; cursor?: string | undefined }) {
    const before = decodeCursor(f.cursor, cursorSchema);
    const rows = await repo.listBookingViews(db.pool, { userId: f.userId, showId: f.showId, status: f.status, before, limit: f.limit + 1 });
    return toPage(rows, f.limit, (r) => [r.created_at.toISOString(), r.id], toDto);
  }

  /** Locks a booking the caller may act on; another user's booking is a 404, never a 403. */
  async function lockOwned(c: Client, user: AuthUser, id: string): Promise<repo.BookingLockRow> {
    const b = await repo.lockBooking(c, id);
    if (b === undefined || (b.user_id !== user.id && user.role !== 'admin')) throw notFound('booking');
    return b;
  }

  /**
   * Refunds what is refund_pending for these bookings, or this show's (up to 100 at a time;
   * all bookings when the scope is empty: the sweep). Each payment
   * is claimed with FOR UPDATE SKIP LOCKED for the call, so two processes never refund the
   * same payment at once; the payment id is the provider's idempotency key. What fails
   * stays refund_pending and the sweep retries it.
   */
  async function refund(scope: { bookingIds?: string[]; showId?: string }): Promise<number> {
    if (scope.bookingIds !== undefined && scope.bookingIds.length === 0) return 0;
    let refunded = 0;
    try {
      await db.tx(async (c) => {
        const pending = await repo.claimRefundPending(c, scope, 100);
        for (const p of pending) {
          const r = await withTimeout(
            payments.refund({ paymentId: p.id, reference: p.provider_ref, amount: p.amount, currency: p.currency }),
            deps.paymentTimeoutMs ?? 5000,
          );
          if (r.ok) {
            await repo.markRefunded(c, p.id);
            refunded++;
          }
        }
      });
    } catch (err) {
      deps.logger?.warn({ err }, 'refund failed; the sweep will retry');
    }
    return refunded;
  }

  return {
    view,

    /**
     * Holds seats: one transaction that takes the user's advisory lock, locks the seats in
     * id order, frees lapsed holds on them, and claims them until now + HOLD_TTL_SECONDS.
     * @throws NOT_FOUND (show), VALIDATION_FAILED (seats not of the show), SHOW_NOT_BOOKABLE,
     * HOLD_LIMIT_REACHED, SEATS_UNAVAILABLE (no seat is claimed; lapsed holds found on the way are still ended), IDEMPOTENCY_KEY_REUSED,
     * SEAT_LIMIT_REACHED (MAX_SEATS_PER_USER_PER_SHOW), REHOLD_COOLDOWN (REHOLD_COOLDOWN_SECONDS, with Retry-After).
     */
    async hold(user: AuthUser, body: HoldBody, idempotencyKey?: string): Promise<{ booking: BookingDto; replayed: boolean }> {
      const seatIds = [...new Set(body.seatIds.map((s) => s.toLowerCase()))].sort();
      let result: repo.HoldResult;
      let booking: BookingDto | undefined;
      // One pool checkout for the hold and its answer: once the hold has committed, the answer
      // never waits for (or times out on) another connection.
      const client = await db.pool.connect();
      let broken: Error | undefined;
      try {
        result = await repo.holdSeats(client, {
          userId: user.id,
          showId: body.showId,
          seatIds,
          ttlSeconds: deps.holdTtlSeconds,
          maxHolds: deps.maxPendingHoldsPerUser,
          maxSeatsPerShow: deps.maxSeatsPerUserPerShow,
          cooldownSeconds: deps.reholdCooldownSeconds,
          idempotencyKey: idempotencyKey ?? null,
          requestHash: requestHash(body),
        });
        if (result.booking_id !== null) [booking] = await views([result.booking_id], client);
      } catch (err) {
        if (isPgError(err) && err.code === '23505' && err.constraint === 'booking_seats_one_active_claim') {
          // The database's last line of defence fired: report it as the conflict it is.
          count('unavailable');
          throw seatsUnavailable([]);
        }
        if (!isPgError(err)) broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        client.release(broken);
      }
      switch (result.outcome) {
        case 'held':
        case 'replayed': {
          if (result.outcome === 'held') deps.shows.invalidateSeatMap(body.showId);
          count(result.outcome);
          return { booking: booking ?? (await view(result.booking_id ?? '')), replayed: result.outcome === 'replayed' };
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
     * Pays and confirms. The booking row stays locked while the provider charges, so at most
     * one charge happens; a confirm racing the hold's expiry is decided under that lock.
     * @throws BOOKING_EXPIRED, BOOKING_CANCELLED, PAYMENT_DECLINED (the hold stays).
     */
    async confirm(user: AuthUser, id: string, paymentToken: string): Promise<BookingDto> {
      const outcome = await db.tx(async (c) => {
        const b = await lockOwned(c, user, id);
        if (b.status === 'confirmed') return { kind: 'already' as const };
        if (b.status === 'cancelled') return { kind: 'cancelled' as const };
        if (b.status === 'expired') return { kind: 'expired' as const };
        if (b.lapsed) {
          await repo.setBookingStatus(c, id, 'expired');
          return { kind: 'expired' as const, showId: b.show_id };
        }
        if (b.show_status === 'cancelled' || b.show_started) return { kind: 'not_bookable' as const };
        const charge = await withTimeout(
          payments.charge({ bookingId: id, amount: b.total, currency: b.currency, token: paymentToken }),
          deps.paymentTimeoutMs ?? 5000,
        );
        if (!charge.ok) {
          await repo.insertPayment(c, { bookingId: id, provider: payments.name, reference: null, status: 'failed', amount: b.total, currency: b.currency, reason: charge.reason });
          return { kind: 'declined' as const, reason: charge.reason };
        }
        await repo.insertPayment(c, { bookingId: id, provider: payments.name, reference: charge.reference, status: 'succeeded', amount: b.total, currency: b.currency });
        await repo.setBookingStatus(c, id, 'confirmed');
        return { kind: 'confirmed' as const, showId: b.show_id };
      });
      switch (outcome.kind) {
        case 'not_bookable':
          throw showNotBookable('The show has started or was cancelled; the booking can no longer be paid.');
        case 'cancelled':
          throw bookingCancelled();
        case 'expired':
          if ('showId' in outcome) deps.shows.invalidateSeatMap(outcome.showId);
          count('expired');
          throw bookingExpired();
        case 'declined':
          count('declined');
          throw paymentDeclined(outcome.reason);
        case 'confirmed':
          deps.shows.invalidateSeatMap(outcome.showId);
          count('confirmed');
          break;
        case 'already':
          break;
      }
      return view(id);
    },

    /**
     * Cancels: the seats are free at once; a confirmed booking's payment is refunded.
     * Cancelling a cancelled booking answers it unchanged.
     * @throws BOOKING_NOT_CANCELLABLE for an expired booking or once the show started.
     */
    async cancel(user: AuthUser, id: string): Promise<BookingDto> {
      const outcome = await db.tx(async (c) => {
        const b = await lockOwned(c, user, id);
        if (b.status === 'cancelled') return { kind: 'unchanged' as const };
        if (b.status === 'expired' || b.lapsed) throw bookingNotCancellable('The booking has expired.');
        if (b.show_started) throw bookingNotCancellable('The show has already started.');
        await repo.setBookingStatus(c, id, 'cancelled');
        if (b.status === 'confirmed') await repo.markRefundPending(c, [id]);
        return { kind: 'cancelled' as const, showId: b.show_id };
      });
      if (outcome.kind === 'cancelled') {
        deps.shows.invalidateSeatMap(outcome.showId);
        count('cancelled');
        await refund({ bookingIds: [id] });
      }
      return view(id);
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
      if (ids.length > 0) await repo.markRefundPending(c, ids);
      return ids;
    },

    refund,

    /**
     * Provider callback, already verified. The same event id twice changes nothing. A
     * success for a pending, unexpired booking confirms it; a success that cannot be kept
     * (the hold lapsed, the booking was cancelled) is recorded as refund_pending.
     */
    async handleWebhook(event: WebhookEvent): Promise<{ duplicate: boolean; outcome: string }> {
      const result = await db.tx(async (c) => {
        const fresh = await repo.recordWebhookEvent(c, { id: event.id, type: event.type, bookingId: event.bookingId, outcome: 'processing' });
        if (!fresh) return { duplicate: true, outcome: 'duplicate' };
        const b = await repo.lockBooking(c, event.bookingId);
        let outcome: string;
        if (b === undefined) {
          outcome = 'unknown_booking';
        } else if (event.type === 'payment.failed') {
          await repo.insertPayment(c, { bookingId: b.id, provider: payments.name, reference: event.id, status: 'failed', amount: event.amount, currency: event.currency, reason: 'provider_reported_failure', kind: 'webhook' });
          outcome = 'failure_recorded';
        } else if (b.status === 'confirmed' && (await repo.hasSucceededPayment(c, b.id))) {
          outcome = 'already_confirmed';
        } else if (b.status === 'pending' && !b.lapsed && event.amount === b.total && event.currency === b.currency) {
          await repo.insertPayment(c, { bookingId: b.id, provider: payments.name, reference: event.id, status: 'succeeded', amount: event.amount, currency: event.currency, kind: 'webhook' });
          await repo.setBookingStatus(c, b.id, 'confirmed');
          outcome = 'confirmed';
        } else {
          if (b.status === 'pending' && b.lapsed) await repo.setBookingStatus(c, b.id, 'expired');
          const reason = event.amount !== b.total || event.currency !== b.currency ? 'amount_mismatch' : `booking_${b.lapsed ? 'expired' : b.status}`;
          await repo.insertPayment(c, { bookingId: b.id, provider: payments.name, reference: event.id, status: 'refund_pending', amount: event.amount, currency: event.currency, reason, kind: 'webhook' });
          outcome = 'refund_pending';
        }
        await repo.setWebhookOutcome(c, event.id, outcome);
        return { duplicate: false, outcome };
      });
      if (result.outcome === 'refund_pending') await refund({ bookingIds: [event.bookingId] });
      return result;
    },

    /**
     * One pass of the expiry sweep: lapsed holds become expired and their seats are
     * announced free; pending refunds are retried. Safe with many processes (SKIP LOCKED).
     */
    async sweep(batch = 500): Promise<{ expired: number; refunded: number }> {
      const expiredRows = await repo.expireDue(db.pool, batch);
      for (const showId of new Set(expiredRows.map((r) => r.show_id))) deps.shows.invalidateSeatMap(showId);
      const expired = expiredRows.length;
      if (expired > 0) deps.metrics?.bookings.inc({ outcome: 'expired' }, expired);
      const refunded = await refund({});
      return { expired, refunded };
    },
  };
}

export type BookingService = ReturnType<typeof createBookingService>;
