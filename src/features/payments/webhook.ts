/**
 * POST /payments/webhook: provider callbacks signed as
 * `Marquee-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * A bad or stale (over 5 minutes) signature is a 401 and changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { DomainError } from '../../domain/errors.ts';
import { defineRoute, type RouteContext } from '../../http/route.ts';
import { problem } from '../../http/schemas.ts';
import { z } from 'zod';
import { webhookEvent } from './schemas.ts';
import type { PaymentService } from './service.ts';

const TOLERANCE_SECONDS = 300;

export function sign(secret: string, timestamp: number, rawBody: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

const badSignature = (detail: string) => new DomainError('unauthenticated', 'UNAUTHENTICATED', 'Invalid signature', detail);

export function verifySignature(secret: string, header: string | undefined, rawBody: Buffer | undefined, nowSeconds: number): void {
  if (header === undefined || rawBody === undefined) throw badSignature('The Marquee-Signature header is missing.');
  const parts = new Map(
    header.split(',').map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/i.test(v1)) throw badSignature('The Marquee-Signature header is malformed.');
  if (Math.abs(nowSeconds - t) > TOLERANCE_SECONDS) throw badSignature('The signature is stale.');
  const expected = createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  const given = Buffer.from(v1, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw badSignature('The signature does not match.');
}

export function webhookRoutes(ctx: RouteContext, payments: PaymentService, secret: string): void {
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/payments/webhook',
      operationId: 'paymentWebhook',
      tag: 'Payments',
      summary: 'Payment provider callback (HMAC-signed)',
      description:
        'Confirms or fails a booking idempotently: the same event id twice changes nothing the second time. ' +
        'A payment.succeeded that arrives while a confirm of the booking is still waiting for the provider settles that confirm’s charge attempt (it is the same charge): nothing is kept twice.',
      access: 'public',
      headers: { 'Marquee-Signature': { description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">', required: true } },
      body: webhookEvent,
      before: [
        (req: Request, _res, next) => {
          verifySignature(secret, req.get('marquee-signature'), req.rawBody, Math.floor(Date.now() / 1000));
          next();
        },
      ],
      responses: {
        200: { description: 'Handled', schema: z.object({ received: z.literal(true), duplicate: z.boolean(), outcome: z.string() }) },
        401: problem('UNAUTHENTICATED: bad or stale signature'),
      },
    },
    async ({ body }, _req, res) => {
      const r = await payments.handleWebhook(body);
      res.json({ received: true, duplicate: r.duplicate, outcome: r.outcome });
    },
  );
}
