/**
 * The payment-provider seam. A real provider (Stripe, Adyen, …) implements this interface;
 * the built-in `simulated` one needs no network. Every charge carries an idempotency key (the
 * charge attempt's, shared by every confirm that continues that attempt), so a retried or
 * doubled confirm can never charge twice at the provider either; every refund carries the
 * payment id as its own idempotency key.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

export type ChargeResult = { ok: true; reference: string } | { ok: false; reason: string };

export interface ChargeInput {
  bookingId: string;
  amount: number;
  currency: string;
  token: string;
  /** The same key never charges twice: a repeated call answers the first call's result. */
  idempotencyKey: string;
}

export interface RefundInput {
  /** The idempotency key of the refund: refunding one payment twice refunds it once. */
  paymentId: string;
  /** The provider's reference of the charge, when it is known. */
  reference: string | null;
  /** The idempotency key the charge was made with (charge attempts): without a reference, the charge is found by it. */
  chargeKey: string | null;
  amount: number;
  currency: string;
}

export interface RefundResult {
  ok: boolean;
  /** false: asked by key (no reference), the provider holds no charge under it; nothing was refunded because nothing was charged. */
  charged?: boolean;
}

export interface PaymentProvider {
  readonly name: string;
  charge(input: ChargeInput): Promise<ChargeResult>;
  refund(input: RefundInput): Promise<RefundResult>;
}

/** A charge the simulated provider made (one per idempotency key). */
export interface SimulatedCharge {
  key: string;
  bookingId: string;
  reference: string;
  amount: number;
  currency: string;
  refunded: boolean;
}

/** A refund the simulated provider made. bookingId: the charge's, when the charge was its own. */
export interface SimulatedRefund {
  paymentId: string;
  reference: string | null;
  bookingId: string | null;
  amount: number;
}

export interface SimulatedProvider extends PaymentProvider {
  /** What the provider did, for tests and benchmarks to count: each charge made and each refund. */
  ledger(): { charges: SimulatedCharge[]; refunds: SimulatedRefund[] };
}

/**
 * Accepts any token starting `tok_` except `tok_declined`, which it declines. Idempotent as a
 * real provider is: the same key answers the same result (a decline too) and charges once;
 * the same payment id refunds once. The charge is made when the call arrives; the answer
 * comes back `latencyMs` later (PAYMENT_SIM_LATENCY_MS), as over a network.
 */
export function createSimulatedProvider(opts: { latencyMs?: number } = {}): SimulatedProvider {
  const latencyMs = opts.latencyMs ?? 0;
  const answers = new Map<string, ChargeResult>();
  const charges: SimulatedCharge[] = [];
  const byKey = new Map<string, SimulatedCharge>();
  const byReference = new Map<string, SimulatedCharge>();
  const refunds = new Map<string, SimulatedRefund>();
  const later = async <T>(value: T): Promise<T> => {
    if (latencyMs > 0) await delay(latencyMs);
    return value;
  };
  return {
    name: 'simulated',
    charge({ bookingId, amount, currency, token, idempotencyKey }) {
      let answer = answers.get(idempotencyKey);
      if (answer === undefined) {
        if (!token.startsWith('tok_') || token === 'tok_declined') {
          answer = { ok: false, reason: token === 'tok_declined' ? 'card_declined' : 'invalid_token' };
        } else {
          const charge: SimulatedCharge = { key: idempotencyKey, bookingId, reference: `sim_ch_${randomUUID()}`, amount, currency, refunded: false };
          charges.push(charge);
          byKey.set(idempotencyKey, charge);
          byReference.set(charge.reference, charge);
          answer = { ok: true, reference: charge.reference };
        }
        answers.set(idempotencyKey, answer);
      }
      return later(answer);
    },
    refund({ paymentId, reference, chargeKey, amount }) {
      if (refunds.has(paymentId)) return later({ ok: true, charged: true });
      const charge = reference !== null ? byReference.get(reference) : chargeKey !== null ? byKey.get(chargeKey) : undefined;
      // Asked by key only, and nothing was charged under it: nothing to give back.
      if (reference === null && charge === undefined) return later({ ok: true, charged: false });
      if (charge?.refunded === true) return later({ ok: true, charged: true });
      // A reference it did not issue is a charge made elsewhere (reported by a webhook): refunded as asked.
      if (charge !== undefined) charge.refunded = true;
      refunds.set(paymentId, { paymentId, reference: charge?.reference ?? reference, bookingId: charge?.bookingId ?? null, amount });
      return later({ ok: true, charged: true });
    },
    ledger() {
      return { charges: charges.map((c) => ({ ...c })), refunds: [...refunds.values()].map((r) => ({ ...r })) };
    },
  };
}
