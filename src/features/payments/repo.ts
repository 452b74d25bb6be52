/**
 * SQL of payments: one function per statement, none of them open across a provider call.
 * The confirm's two statements and the webhook are plpgsql functions (migration 008) that
 * lock the booking row for microseconds; refunds are claimed with a lease and settled one by
 * one. Lock order: a booking row, then its payments; refund statements touch only
 * refund_pending payments and never wait for a booking.
 */
import type { Queryable } from '../../db/pool.ts';

export type BeginOutcome = 'charge' | 'confirmed' | 'cancelled' | 'expired' | 'not_bookable' | 'not_found';

export interface BeginRow {
  outcome: BeginOutcome;
  /** charge: the open attempt and the key to charge it with. */
  payment_id: string | null;
  charge_key: string | null;
  amount: number | null;
  currency: string | null;
  /** charge: the booking's show; expired: set when this call expired the hold (its seats changed). */
  show_id: string | null;
  /** confirmed: the booking document (booking_document()). */
  booking: unknown;
}

/** Confirm, step 1: lock the booking for a moment, check it, record (or join) the charge attempt. */
export async function beginPayment(db: Queryable, p: { bookingId: string; userId: string; admin: boolean; provider: string }): Promise<BeginRow> {
  const { rows } = await db.query<BeginRow>({
    name: 'payment_begin',
    text: 'SELECT outcome, payment_id, charge_key, amount, currency, show_id, booking FROM payment_begin($1, $2, $3, $4)',
    values: [p.bookingId, p.userId, p.admin, p.provider],
  });
  return rows[0] as BeginRow;
}

export type SettleOutcome = 'confirmed' | 'declined' | 'expired' | 'cancelled' | 'not_bookable' | 'unknown';

export interface SettleRow {
  outcome: SettleOutcome;
  /** Set when this call changed the booking's seats (confirmed it, or expired its hold). */
  show_id: string | null;
  /** A refund_pending payment waits for the provider (the charge could not be kept). */
  refund: boolean;
  /** declined: the provider's reason; refund: why the charge is given back. */
  reason: string | null;
  /** confirmed: the booking document. */
  booking: unknown;
}

/** Confirm, step 3: apply the provider's answer under the booking row lock; the answer in the same statement. */
export async function settlePayment(
  db: Queryable,
  p: { paymentId: string; ok: boolean; reference: string | null; reason: string | null; graceMs: number },
): Promise<SettleRow> {
  const { rows } = await db.query<SettleRow>({
    name: 'payment_settle',
    text: 'SELECT outcome, show_id, refund, reason, booking FROM payment_settle($1, $2, $3, $4, $5)',
    values: [p.paymentId, p.ok, p.reference, p.reason, p.graceMs],
  });
  return rows[0] as SettleRow;
}

export interface WebhookRow {
  duplicate: boolean;
  outcome: string;
  refund: boolean;
}

/** A verified provider callback, in one statement (payment_webhook). */
export async function applyWebhook(
  db: Queryable,
  e: { id: string; type: string; bookingId: string; amount: number; currency: string; provider: string; graceMs: number },
): Promise<WebhookRow> {
  const { rows } = await db.query<WebhookRow>(
    'SELECT duplicate, outcome, refund FROM payment_webhook($1, $2, $3, $4, $5, $6, $7)',
    [e.id, e.type, e.bookingId, e.amount, e.currency, e.provider, e.graceMs],
  );
  return rows[0] as WebhookRow;
}

/** Inside a transaction that holds these bookings' rows (show cancel): their successful payments are to be refunded. */
export async function markRefundPending(db: Queryable, bookingIds: string[]): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE payments SET status = 'refund_pending', updated_at = now()
      WHERE booking_id = ANY($1::uuid[]) AND status = 'succeeded'`,
    [bookingIds],
  );
  return rowCount ?? 0;
}

export interface ClaimedRefund {
  id: string;
  provider_ref: string | null;
  charge_key: string | null;
  amount: number;
  currency: string;
}

export interface RefundScope {
  bookingIds?: string[];
  showId?: string;
  paymentIds?: string[];
}

/**
 * Claims up to `limit` refund_pending payments of the scope for one refund pass: `claim` and a
 * lease of `leaseMs`. Payments another pass holds under a live lease, or that a concurrent
 * claim is locking right now, are skipped; one statement, committed at once.
 */
export async function claimRefunds(db: Queryable, c: { scope: RefundScope; limit: number; claim: string; leaseMs: number }): Promise<ClaimedRefund[]> {
  const { rows } = await db.query<ClaimedRefund>(
    `WITH due AS (
       SELECT p.id FROM payments p
        WHERE p.status = 'refund_pending'
          AND (p.refund_lease_until IS NULL OR p.refund_lease_until <= now())
          AND ($1::uuid[] IS NULL OR p.booking_id = ANY($1::uuid[]))
          AND ($2::uuid IS NULL OR p.booking_id IN (SELECT id FROM bookings WHERE show_id = $2))
          AND ($3::uuid[] IS NULL OR p.id = ANY($3::uuid[]))
        ORDER BY p.id LIMIT $4
        FOR UPDATE OF p SKIP LOCKED
     )
     UPDATE payments p SET refund_claim = $5, refund_lease_until = now() + make_interval(secs => $6::float8 / 1000)
       FROM due WHERE p.id = due.id AND p.status = 'refund_pending'
     RETURNING p.id, p.provider_ref, p.charge_key, p.amount, p.currency`,
    [c.scope.bookingIds ?? null, c.scope.showId ?? null, c.scope.paymentIds ?? null, c.limit, c.claim, c.leaseMs],
  );
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * One refund's answer, and a fresh lease for the rest of its pass, in one statement.
 * refunded: the provider gave the money back; not_charged: asked by key, the provider holds
 * no charge (the attempt never charged): recorded as failed; refused: released, and not
 * claimed again before `leaseMs` has passed (a back-off).
 */
export async function settleRefund(
  db: Queryable,
  s: { paymentId: string; claim: string; result: 'refunded' | 'not_charged' | 'refused'; leaseMs: number },
): Promise<void> {
  await db.query(
    `WITH this AS (
       UPDATE payments
          SET status = CASE $3::text WHEN 'refunded' THEN 'refunded' WHEN 'not_charged' THEN 'failed' ELSE status END,
              failure_reason = CASE $3::text WHEN 'not_charged' THEN 'not_charged' ELSE failure_reason END,
              refund_claim = NULL,
              refund_lease_until = CASE $3::text WHEN 'refused' THEN now() + make_interval(secs => $4::float8 / 1000) END,
              updated_at = now()
        WHERE id = $1 AND status = 'refund_pending'
     )
     UPDATE payments SET refund_lease_until = now() + make_interval(secs => $4::float8 / 1000)
      WHERE refund_claim = $2 AND status = 'refund_pending' AND id <> $1`,
    [s.paymentId, s.claim, s.result, s.leaseMs],
  );
}

/**
 * Charge attempts nobody finished (their confirm gave up on the provider, or its process
 * died) whose booking can no longer take a payment: moved to refund_pending, to be refunded
 * by their charge key (a no-op at the provider when nothing was charged). Attempts of a
 * booking that is still pending and within its hold (plus the grace) are left for a retry.
 * Booking rows another transaction holds are skipped.
 */
export async function reconcileStaleAttempts(db: Queryable, r: { staleMs: number; graceMs: number; limit: number }): Promise<number> {
  const { rowCount } = await db.query(
    `WITH stale AS (
       SELECT p.id FROM payments p JOIN bookings b ON b.id = p.booking_id
        WHERE p.status = 'processing' AND p.updated_at < now() - make_interval(secs => $1::float8 / 1000)
          AND NOT (b.status = 'pending' AND now() < b.expires_at + make_interval(secs => $2::float8 / 1000))
        ORDER BY p.updated_at LIMIT $3
        FOR UPDATE OF b SKIP LOCKED
     )
     UPDATE payments p SET status = 'refund_pending', failure_reason = 'abandoned_attempt', updated_at = now()
       FROM stale WHERE p.id = stale.id AND p.status = 'processing'`,
    [r.staleMs, r.graceMs, r.limit],
  );
  return rowCount ?? 0;
}
