/**
 * Payments: charge a booking, settle the charge, refund, take the provider's callbacks, and
 * reconcile what a crash or a silent provider left open. No database connection and no row
 * lock is held while the provider is called (ADR 0013): a confirm records its attempt in one
 * statement, calls the provider with no connection checked out, then settles in a second
 * statement; a refund pass claims its payments with a lease, then calls and settles each.
 *
 * This feature owns the payments table and its SQL (repo.ts). The bookings feature calls
 * this service; it imports nothing of bookings.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Client, Db } from '../../db/pool.ts';
import type { ChargeResult, PaymentProvider } from './provider.ts';
import * as repo from './repo.ts';
import type { WebhookEvent } from './schemas.ts';

export interface PaymentDeps {
  db: Db;
  provider: PaymentProvider;
  /** PAYMENT_TIMEOUT_MS: how long one provider call may take before the caller stops waiting. */
  timeoutMs: number;
  logger?: Logger;
}

/** The outcome of paying for a booking; `booking` is the booking document (booking_document()). */
export type PayResult =
  | { outcome: 'confirmed'; booking: unknown; /** set when this call confirmed it */ showId: string | null }
  | { outcome: 'declined'; reason: string }
  | { outcome: 'expired'; /** set when this call expired the hold */ showId: string | null }
  | { outcome: 'cancelled' }
  | { outcome: 'not_bookable' }
  | { outcome: 'not_found' }
  /** The provider did not answer in time (or failed): the attempt stays open; a retry continues it with the same key. */
  | { outcome: 'no_answer' };

class ProviderTimeout extends Error {
  override name = 'ProviderTimeout';
}

/** Resolves as p does, or rejects with ProviderTimeout after ms (p is not cancelled: the provider may still act). */
async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          onTimeout?.();
          reject(new ProviderTimeout(`the payment provider did not answer within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createPaymentService(deps: PaymentDeps) {
  const { db, provider, timeoutMs } = deps;
  /** A booking whose hold lapsed less than this long ago still takes a charge that began while it was live. */
  const graceMs = 2 * timeoutMs;
  /** A refund pass's lease: one provider call plus a margin, renewed after each call. */
  const leaseMs = 2 * timeoutMs + 1000;
  /** An attempt untouched this long has no confirm waiting for it any more. */
  const staleMs = 2 * timeoutMs + 1000;
  /**
   * Charges in flight in this process, by key: a double click joins the call already made
   * instead of sending a second one (other processes rely on the provider's idempotency).
   * A call whose caller gave up is forgotten, so a retry asks the provider again.
   */
  const inflight = new Map<string, Promise<ChargeResult>>();

  /** Applies a provider answer to its attempt (one statement), then refunds what cannot be kept. */
  async function settle(paymentId: string, answer: ChargeResult): Promise<repo.SettleRow> {
    const settled = await repo.settlePayment(db.pool, {
      paymentId,
      ok: answer.ok,
      reference: answer.ok ? answer.reference : null,
      reason: answer.ok ? null : answer.reason,
      graceMs,
    });
    if (settled.refund) await refund({ paymentIds: [paymentId] });
    return settled;
  }

  /**
   * An answer that comes after its caller gave up is applied all the same: a charge made
   * late confirms the booking if it can still take it, and is refunded if it cannot (even
   * when the sweep has meanwhile concluded, by key, that nothing was charged). Nobody waits
   * for it; a call that fails leaves the attempt to a retry or the sweep.
   */
  function settleLate(call: Promise<ChargeResult>, paymentId: string): void {
    void call
      .then(async (answer) => {
        const settled = await settle(paymentId, answer);
        deps.logger?.info({ paymentId, outcome: settled.outcome, refund: settled.refund }, 'a late payment answer was settled');
      })
      .catch((err: unknown) => deps.logger?.warn({ err, paymentId }, 'a late payment answer could not be settled; the sweep reconciles the attempt'));
  }

  function charge(paymentId: string, input: { bookingId: string; amount: number; currency: string; token: string; idempotencyKey: string }): Promise<ChargeResult> {
    const key = input.idempotencyKey;
    let call = inflight.get(key);
    if (call === undefined) {
      const made = provider.charge(input);
      call = made;
      inflight.set(key, made);
      const forget = () => {
        if (inflight.get(key) === made) inflight.delete(key);
      };
      void made.then(forget, forget);
    }
    const joined = call;
    return withTimeout(joined, timeoutMs, () => {
      if (inflight.get(key) !== joined) return;
      inflight.delete(key);
      settleLate(joined, paymentId);
    });
  }

  /**
   * Refunds the refund_pending payments of the scope (up to 100; any booking's when the
   * scope is empty: the sweep). The pass claims them with a lease in one statement, then
   * calls the provider for each in turn with no connection held, and settles each answer in
   * one statement that also renews the lease of the rest. A call that fails or times out
   * ends the pass; what it still holds is taken over once the lease runs out. Never throws.
   * @returns how many were refunded.
   */
  async function refund(scope: repo.RefundScope, limit = 100): Promise<number> {
    if (scope.bookingIds?.length === 0 || scope.paymentIds?.length === 0) return 0;
    const claim = randomUUID();
    let refunded = 0;
    try {
      const claimed = await repo.claimRefunds(db.pool, { scope, limit, claim, leaseMs });
      for (const p of claimed) {
        const answer = await withTimeout(
          provider.refund({ paymentId: p.id, reference: p.provider_ref, chargeKey: p.charge_key, amount: p.amount, currency: p.currency }),
          timeoutMs,
        );
        const result = !answer.ok ? 'refused' : p.provider_ref === null && answer.charged === false ? 'not_charged' : 'refunded';
        await repo.settleRefund(db.pool, { paymentId: p.id, claim, result, leaseMs });
        if (result === 'refunded') refunded++;
        if (result === 'refused') deps.logger?.warn({ paymentId: p.id }, 'the provider refused a refund; it is retried later');
      }
    } catch (err) {
      deps.logger?.warn({ err }, 'refund failed; the sweep will retry');
    }
    return refunded;
  }

  return {
    refund,

    /**
     * Pays for a booking (the caller's, or anyone's for an admin): two statements and one
     * provider call between them, with no connection held across it.
     */
    async pay(input: { bookingId: string; userId: string; admin: boolean; token: string }): Promise<PayResult> {
      const begun = await repo.beginPayment(db.pool, { bookingId: input.bookingId, userId: input.userId, admin: input.admin, provider: provider.name });
      switch (begun.outcome) {
        case 'charge':
          break;
        case 'confirmed':
          return { outcome: 'confirmed', booking: begun.booking, showId: null };
        case 'expired':
          return { outcome: 'expired', showId: begun.show_id };
        case 'cancelled':
        case 'not_bookable':
        case 'not_found':
          return { outcome: begun.outcome };
      }
      const paymentId = begun.payment_id ?? '';
      let answer: ChargeResult;
      try {
        answer = await charge(paymentId, {
          bookingId: input.bookingId,
          amount: begun.amount ?? 0,
          currency: begun.currency ?? '',
          token: input.token,
          idempotencyKey: begun.charge_key ?? paymentId,
        });
      } catch (err) {
        if (!(err instanceof ProviderTimeout)) deps.logger?.warn({ err, paymentId }, 'the payment provider failed; the attempt stays open');
        return { outcome: 'no_answer' };
      }
      const settled = await settle(paymentId, answer);
      switch (settled.outcome) {
        case 'confirmed':
          return { outcome: 'confirmed', booking: settled.booking, showId: settled.show_id };
        case 'declined':
          return { outcome: 'declined', reason: settled.reason ?? 'declined' };
        case 'expired':
          return { outcome: 'expired', showId: settled.show_id };
        case 'cancelled':
        case 'not_bookable':
          return { outcome: settled.outcome };
        case 'unknown':
          throw new Error(`payment ${paymentId} vanished while it was being settled`);
      }
    },

    /**
     * A provider callback, already verified: one statement, then a refund outside any
     * transaction when the money cannot be kept. The same event id twice changes nothing.
     */
    async handleWebhook(event: WebhookEvent): Promise<{ duplicate: boolean; outcome: string }> {
      const r = await repo.applyWebhook(db.pool, { ...event, provider: provider.name, graceMs });
      if (r.refund) await refund({ bookingIds: [event.bookingId] });
      return { duplicate: r.duplicate, outcome: r.outcome };
    },

    /** Inside the show-cancel transaction: the cancelled bookings' successful payments are to be refunded. */
    async markRefundPending(c: Client, bookingIds: string[]): Promise<void> {
      if (bookingIds.length > 0) await repo.markRefundPending(c, bookingIds);
    },

    /**
     * One sweep pass: attempts left open whose booking is gone are moved to refund_pending,
     * then pending refunds are retried. Safe with many processes (SKIP LOCKED and leases).
     * @returns how many payments were refunded.
     */
    async sweep(limit = 100): Promise<{ reconciled: number; refunded: number }> {
      const reconciled = await repo.reconcileStaleAttempts(db.pool, { staleMs, graceMs, limit });
      const refunded = await refund({}, limit);
      return { reconciled, refunded };
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;
