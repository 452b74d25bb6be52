import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';
import { sign } from './webhook.ts';

const SECRET = 'whsec_test_0123456789abcdef';
let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];

before(async () => {
  t = await startTestApp({ PAYMENT_WEBHOOK_SECRET: SECRET });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 10);
});
after(async () => {
  const report = await checkInvariants((q) => t.sql(q));
  await t.close();
  assert.deepEqual(report.violations, []);
});

function post(event: Record<string, unknown>, opts: { secret?: string; at?: number; header?: string } = {}) {
  const raw = JSON.stringify(event);
  const at = opts.at ?? Math.floor(Date.now() / 1000);
  return t.request<{ received?: boolean; duplicate?: boolean; outcome?: string; code?: string }>('POST', '/api/v1/payments/webhook', {
    rawBody: raw,
    headers: { 'marquee-signature': opts.header ?? sign(opts.secret ?? SECRET, at, raw) },
  });
}

async function pendingBooking(u: SignedIn) {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const res = await t.request<{ id: string; total: number; currency: string }>('POST', '/api/v1/bookings', {
    token: u.token,
    body: { showId: show.id, seatIds: [seats[0]?.id] },
  });
  assert.equal(res.status, 201);
  return { booking: res.body, show, seats };
}

describe('payments webhook', () => {
  it('payment.succeeded with a valid signature → the booking is confirmed once; the same event again changes nothing', async () => {
    const u = users[0] as SignedIn;
    const { booking } = await pendingBooking(u);
    const event = { id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: booking.id, amount: booking.total, currency: booking.currency };
    const first = await post(event);
    assert.equal(first.status, 200);
    assert.equal(first.body.outcome, 'confirmed');
    const again = await post(event);
    assert.equal(again.status, 200);
    assert.equal(again.body.duplicate, true);
    const rows = await t.sql<{ status: string }>(`SELECT status FROM payments WHERE booking_id = $1`, [booking.id]);
    assert.deepEqual(rows.map((r) => r.status), ['succeeded']);
    const b = await t.request<{ status: string }>('GET', `/api/v1/bookings/${booking.id}`, { token: u.token });
    assert.equal(b.body.status, 'confirmed');
  });

  it('bad, missing, stale or other-secret signatures → 401 and nothing changes', async () => {
    const u = users[1] as SignedIn;
    const { booking } = await pendingBooking(u);
    const event = { id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: booking.id, amount: booking.total, currency: booking.currency };
    const raw = JSON.stringify(event);
    const cases = [
      await post(event, { secret: 'whsec_someone_else_entirely' }),
      await post(event, { at: Math.floor(Date.now() / 1000) - 301 }),
      await post(event, { header: 'garbage' }),
      await post(event, { header: sign(SECRET, Math.floor(Date.now() / 1000), raw).replace(/.$/, (c) => (c === '0' ? '1' : '0')) }),
      await t.request<{ code?: string }>('POST', '/api/v1/payments/webhook', { rawBody: raw }),
    ];
    for (const res of cases) assert.equal(res.status, 401);
    // A body changed after signing (amount) fails too.
    const at = Math.floor(Date.now() / 1000);
    const tampered = await t.request('POST', '/api/v1/payments/webhook', {
      rawBody: JSON.stringify({ ...event, amount: 1 }),
      headers: { 'marquee-signature': sign(SECRET, at, raw) },
    });
    assert.equal(tampered.status, 401);
    assert.equal((await t.sql(`SELECT 1 FROM payments WHERE booking_id = $1`, [booking.id])).length, 0);
    assert.equal((await t.sql(`SELECT 1 FROM webhook_events WHERE id = $1`, [event.id])).length, 0);
  });

  it('payment.failed → recorded as failed, the hold stays pending', async () => {
    const u = users[2] as SignedIn;
    const { booking } = await pendingBooking(u);
    const res = await post({ id: `evt_${randomUUID()}`, type: 'payment.failed', bookingId: booking.id, amount: booking.total, currency: booking.currency });
    assert.equal(res.status, 200);
    const [row] = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [booking.id]);
    assert.equal(row?.status, 'pending');
    const pays = await t.sql<{ status: string }>(`SELECT status FROM payments WHERE booking_id = $1`, [booking.id]);
    assert.deepEqual(pays.map((p) => p.status), ['failed']);
  });

  it('a payment after the hold lapsed and the seat was resold → recorded to refund, the resale stands', async () => {
    const u = users[3] as SignedIn;
    const { booking, show, seats } = await pendingBooking(u);
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [booking.id]);
    const buyer = users[4] as SignedIn;
    const resale = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: buyer.token, body: { showId: show.id, seatIds: [seats[0]?.id] } });
    assert.equal(resale.status, 201);
    const res = await post({ id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: booking.id, amount: booking.total, currency: booking.currency });
    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'refund_pending');
    const pays = await t.sql<{ status: string }>(`SELECT status FROM payments WHERE booking_id = $1`, [booking.id]);
    assert.ok(['refund_pending', 'refunded'].includes(pays[0]?.status ?? ''), pays[0]?.status);
    const [old] = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [booking.id]);
    assert.equal(old?.status, 'expired');
    const map = await seatMap(t, show.id);
    assert.equal(map[0]?.status, 'held', 'the resale keeps the seat');
  });

  it('a wrong amount → not confirmed, recorded to refund', async () => {
    const u = users[5] as SignedIn;
    const { booking } = await pendingBooking(u);
    const res = await post({ id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: booking.id, amount: booking.total - 1, currency: booking.currency });
    assert.equal(res.body.outcome, 'refund_pending');
    const [row] = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [booking.id]);
    assert.equal(row?.status, 'pending');
  });

  it('a malformed event with a valid signature → 422, not 500', async () => {
    const res = await post({ id: 'evt_x', type: 'payment.refunded', bookingId: 'nope' });
    assert.equal(res.status, 422);
  });
});
