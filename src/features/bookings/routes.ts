import type { Request } from 'express';
import { validationFailed } from '../../domain/errors.ts';
import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, listOf, problem } from '../../http/schemas.ts';
import { seatMapSchema } from '../shows/schemas.ts';
import { bestSeatsBody, bookingSchema, confirmBody, historyQuery, holdBody, idempotencyKey, myHistoryQuery } from './schemas.ts';
import type { BookingService } from './service.ts';

function readIdempotencyKey(req: Request): string | undefined {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const parsed = idempotencyKey.safeParse(raw);
  if (!parsed.success) throw validationFailed([{ path: 'headers.idempotency-key', message: parsed.error.issues[0]?.message ?? 'Invalid.' }]);
  return parsed.data;
}

export function bookingRoutes(ctx: RouteContext, bookings: BookingService): void {
  const tag = 'Bookings';
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/bookings',
      operationId: 'holdSeats',
      tag,
      summary: 'Hold seats of a show (a pending booking until expiresAt)',
      description:
        'Locks the seats, checks each is free (a lapsed hold counts as free) and holds them for HOLD_TTL_SECONDS. ' +
        'SEATS_UNAVAILABLE names only seats that a committed booking holds or has bought: a seat another request is claiming right now ' +
        'is waited for (at most DB_LOCK_TIMEOUT_MS, then 503 with Retry-After), never reported taken on a guess. ' +
        'The same Idempotency-Key with the same body answers the first booking again. ' +
        'Anti-hoarding: the seats one user holds or has bought in a show, plus these, may not exceed MAX_SEATS_PER_USER_PER_SHOW ' +
        '(409 SEAT_LIMIT_REACHED); seats the same user cancelled while pending or let lapse cannot be held by that user again for ' +
        'REHOLD_COOLDOWN_SECONDS after the release (409 REHOLD_COOLDOWN, Retry-After: the seconds left; anyone else may hold them at once). ' +
        '0 turns either off.',
      access: 'user',
      body: holdBody,
      headers: { 'Idempotency-Key': { description: 'Makes retries safe: same key and body → the same booking, nothing new held' } },
      responses: {
        201: { description: 'Held (or, with Idempotent-Replayed, the booking an earlier request with this Idempotency-Key held)', schema: bookingSchema, headers: ['Location', 'Idempotent-Replayed'] },
        404: problem('NOT_FOUND: no such show'),
        409: {
          ...problem(
            'SEATS_UNAVAILABLE (with unavailableSeatIds), SHOW_NOT_BOOKABLE, HOLD_LIMIT_REACHED, ' +
              'SEAT_LIMIT_REACHED (past MAX_SEATS_PER_USER_PER_SHOW; with maxSeatsPerShow and seatsHeldOrBought) or ' +
              'REHOLD_COOLDOWN (seats you released less than REHOLD_COOLDOWN_SECONDS ago; with cooldownSeatIds and a Retry-After header)',
          ),
          headers: ['Retry-After'],
        },
        422: problem('VALIDATION_FAILED (seats not of the show) or IDEMPOTENCY_KEY_REUSED'),
      },
    },
    async ({ body, user }, req, res) => {
      if (user === undefined) return;
      const key = readIdempotencyKey(req);
      const { booking, replayed } = await bookings.hold(user, body, key);
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(201).location(`${ctx.prefix}/bookings/${booking.id}`).json(booking);
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/bookings/:id/confirm',
      operationId: 'confirmBooking',
      tag,
      summary: 'Pay for a held booking and confirm it',
      access: 'user',
      params: idParams,
      body: confirmBody,
      responses: {
        200: { description: 'Confirmed (again: charged once only)', schema: bookingSchema },
        402: problem('PAYMENT_DECLINED: the hold stays until it expires'),
        404: problem('NOT_FOUND'),
        409: problem('BOOKING_EXPIRED, BOOKING_CANCELLED, or SHOW_NOT_BOOKABLE (the show started or was cancelled)'),
        503: problem('SERVICE_UNAVAILABLE: the payment provider did not answer in time; retrying never charges twice'),
      },
    },
    async ({ params, body, user }, _req, res) => {
      if (user === undefined) return;
      res.json(await bookings.confirm(user, params.id, body.paymentToken));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/bookings/:id/cancel',
      operationId: 'cancelBooking',
      tag,
      summary: 'Cancel a booking; its seats are free at once, its tickets void and a payment is refunded',
      access: 'user',
      params: idParams,
      responses: {
        200: { description: 'Cancelled (or already cancelled)', schema: bookingSchema },
        404: problem('NOT_FOUND'),
        409: problem('BOOKING_NOT_CANCELLABLE: expired, a ticket was checked in, or the show has started'),
      },
    },
    async ({ params, user }, _req, res) => {
      if (user === undefined) return;
      res.json(await bookings.cancel(user, params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/bookings/:id',
      operationId: 'getBooking',
      tag,
      summary: 'A booking of yours (admins: anyone’s)',
      access: 'user',
      params: idParams,
      responses: { 200: { description: 'The booking', schema: bookingSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params, user }, _req, res) => {
      if (user === undefined) return;
      res.json(await bookings.get(user, params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/bookings',
      operationId: 'listMyBookings',
      tag,
      summary: 'Your booking history, newest first (or upcoming / past shows)',
      description:
        'Your bookings, newest first. With when=upcoming: bookings of shows that start after now, soonest first; ' +
        'with when=past: of shows that have started, latest first (a cursor belongs to the listing that gave it).',
      access: 'user',
      query: myHistoryQuery,
      responses: { 200: { description: 'A page of bookings', schema: listOf(bookingSchema) } },
    },
    async ({ query, user }, _req, res) => {
      if (user === undefined) return;
      res.json(await bookings.list({ userId: user.id, status: query.status, when: query.when, limit: query.limit, cursor: query.cursor }));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows/:id/bookings',
      operationId: 'listShowBookings',
      tag,
      summary: 'Every booking of a show, any user (admin: audits and support)',
      access: 'admin',
      params: idParams,
      query: historyQuery,
      responses: { 200: { description: 'A page of bookings', schema: listOf(bookingSchema) }, 404: problem('NOT_FOUND: no such show') },
    },
    async ({ params, query }, _req, res) => {
      res.json(await bookings.listOfShow(params.id, { status: query.status, limit: query.limit, cursor: query.cursor }));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/shows/:id/best-seats',
      operationId: 'findBestSeats',
      tag: 'Shows',
      summary: 'Suggest the best block of adjacent free seats (not held)',
      access: 'public',
      params: idParams,
      body: bestSeatsBody,
      responses: {
        200: { description: 'The suggested seats', schema: seatMapSchema.pick({ seats: true }) },
        404: problem('NOT_FOUND'),
        409: problem('SEATS_UNAVAILABLE: no such block; SHOW_NOT_BOOKABLE: the show started or was cancelled'),
      },
    },
    async ({ params, body }, _req, res) => {
      res.json(await bookings.bestSeats(params.id, body.count, body.category));
    },
  );
}
