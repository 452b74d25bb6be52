import { z } from 'zod';

/** A provider callback, after its signature was checked (POST /payments/webhook). */
export const webhookEvent = z.object({
  id: z.string().min(1).max(255),
  type: z.enum(['payment.succeeded', 'payment.failed']),
  bookingId: z.uuid(),
  amount: z.number().int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/),
});
export type WebhookEvent = z.infer<typeof webhookEvent>;
