/**
 * The payment-provider seam. A real provider (Stripe, Adyen, …) implements this interface;
 * the built-in `simulated` one needs no network. Charges carry the booking id as their
 * idempotency key so a retried confirm can never charge twice at the provider either.
 */
import { randomUUID } from 'node:crypto';

export type ChargeResult = { ok: true; reference: string } | { ok: false; reason: string };

export interface PaymentProvider {
  readonly name: string;
  charge(input: { bookingId: string; amount: number; currency: string; token: string }): Promise<ChargeResult>;
  /** `paymentId` is the idempotency key: refunding one payment twice refunds it once. */
  refund(input: { paymentId: string; reference: string | null; amount: number; currency: string }): Promise<{ ok: boolean }>;
}

/** Accepts any token starting `tok_` except `tok_declined`, which it declines. */
export function createSimulatedProvider(): PaymentProvider {
  const charges = new Map<string, string>();
  return {
    name: 'simulated',
    charge({ bookingId, token }) {
      if (!token.startsWith('tok_') || token === 'tok_declined') {
        return Promise.resolve({ ok: false, reason: token === 'tok_declined' ? 'card_declined' : 'invalid_token' });
      }
      // Idempotent per booking, as real providers are per idempotency key.
      const reference = charges.get(bookingId) ?? `sim_ch_${randomUUID()}`;
      charges.set(bookingId, reference);
      return Promise.resolve({ ok: true, reference });
    },
    refund() {
      return Promise.resolve({ ok: true });
    },
  };
}
