import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap, type SeatMapSeat, type Show } from '../../../test/builders.ts';
import { countQueries, makeUsers, signUpAdmin, startTestApp, type HttpResult, type SignedIn, type TestApp, type Problem } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';

interface Booking {
  id: string;
  userId: string;
  showId: string;
  status: string;
  seats: { id: string; row: string; number: number; category: string; price: number }[];
  total: number;
  currency: string;
  expiresAt: string;
  createdAt: string;
  confirmedAt: string | null;
  cancelledAt: string | null;
  payment: { id: string; provider: string; status: string; amount: number; currency: string } | null;
  show: { startsAt: string; movie: { id: string; title: string }; theatre: { id: string; name: string; city: string }; screen: { id: string; name: string } };
}

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];
let next = 0;
const user = () => {
  const u = users[next++];
  if (u === undefined) throw new Error('out of users');
  return u;
};

before(async () => {
  t = await startTestApp({ HOLD_TTL_SECONDS: '600', MAX_PENDING_HOLDS_PER_USER: '3' });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 60);
});
after(async () => {
  const report = await checkInvariants((q) => t.sql(q));
  await t.close();
  assert.deepEqual(report.violations, []);
});

async function freshShow(): Promise<{ show: Show; seats: SeatMapSeat[] }> {
  const show = await makeShow(t, admin);
  return { show, seats: await seatMap(t, show.id) };
}

const hold = (u: SignedIn, showId: string, seatIds: string[], headers: Record<string, string> = {}) =>
  t.request<Booking & Problem>('POST', '/api/v1/bookings', { token: u.token, body: { showId, seatIds }, headers });

describe('hold', () => {
  it('hold: free seats → 201 pending with expiresAt, seats, total; the seat map shows them held', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const chosen = [seats[0], seats[15]] as SeatMapSeat[];
    const started = Date.now();
    const res = await hold(u, show.id, chosen.map((s) => s.id));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.userId, u.id);
    assert.equal(res.body.total, chosen.reduce((n, s) => n + s.price, 0));
    assert.equal(res.body.currency, 'USD');
    assert.equal(res.body.payment, null);
    assert.deepEqual(res.body.seats.map((s) => s.id).sort(), chosen.map((s) => s.id).sort());
    const ttl = new Date(res.body.expiresAt).getTime() - started;
    assert.ok(ttl > 590_000 && ttl < 610_000, `ttl ${ttl}`);
    assert.ok(res.body.show.movie.title && res.body.show.theatre.city && res.body.show.screen.name);
    const map = await seatMap(t, show.id);
    assert.deepEqual(map.filter((s) => s.status === 'held').map((s) => s.id).sort(), chosen.map((s) => s.id).sort());
  });

  it('hold: a taken seat → 409 SEATS_UNAVAILABLE naming it, and nothing changes', async () => {
    const { show, seats } = await freshShow();
    const [a, b, c] = seats as [SeatMapSeat, SeatMapSeat, SeatMapSeat];
    assert.equal((await hold(user(), show.id, [a.id])).status, 201);
    const second = user();
    const res = await hold(second, show.id, [b.id, a.id, c.id]);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'SEATS_UNAVAILABLE');
    assert.deepEqual(res.body.unavailableSeatIds, [a.id]);
    assert.equal((await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1`, [second.id])).length, 0);
    const map = await seatMap(t, show.id);
    assert.equal(map.find((s) => s.id === b.id)?.status, 'available');
  });

  it('hold: bad seat lists → 422 with paths; unknown show → 404', async () => {
    const { show, seats } = await freshShow();
    const other = await freshShow();
    const u = user();
    const none = await hold(u, show.id, []);
    assert.equal(none.status, 422);
    const eleven = await hold(u, show.id, seats.slice(0, 11).map((s) => s.id));
    assert.equal(eleven.status, 422);
    const dup = await hold(u, show.id, [seats[0]?.id ?? '', seats[0]?.id ?? '']);
    assert.equal(dup.status, 422);
    const foreign = await hold(u, show.id, [seats[1]?.id ?? '', other.seats[0]?.id ?? '']);
    assert.equal(foreign.status, 422);
    assert.deepEqual(foreign.body.errors?.map((e) => e.path), ['seatIds.1']);
    const missing = await hold(u, '00000000-0000-4000-8000-000000000000', [seats[0]?.id ?? '']);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
    const extra = await t.request<Problem>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seats[2]?.id], total: 0 } });
    assert.equal(extra.status, 422);
    assert.equal((await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1`, [u.id])).length, 0);
    assert.equal((await t.request('POST', '/api/v1/bookings', { body: { showId: show.id, seatIds: [seats[0]?.id] } })).status, 401);
  });

  it('hold: a cancelled or started show → 409 SHOW_NOT_BOOKABLE', async () => {
    const cancelled = await freshShow();
    await t.request('POST', `/api/v1/shows/${cancelled.show.id}/cancel`, { token: admin.token });
    const r1 = await hold(user(), cancelled.show.id, [cancelled.seats[0]?.id ?? '']);
    assert.equal(r1.status, 409);
    assert.equal(r1.body.code, 'SHOW_NOT_BOOKABLE');
    const past = await freshShow();
    await t.sql(`UPDATE shows SET starts_at = now() - interval '1 minute' WHERE id = $1`, [past.show.id]);
    const r2 = await hold(user(), past.show.id, [past.seats[0]?.id ?? '']);
    assert.equal(r2.status, 409);
    assert.equal(r2.body.code, 'SHOW_NOT_BOOKABLE');
  });

  it('hold: a lapsed hold counts as free at once, before any sweep; the old booking reads expired', async () => {
    const { show, seats } = await freshShow();
    const first = user();
    const old = await hold(first, show.id, [seats[0]?.id ?? '', seats[1]?.id ?? '']);
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [old.body.id]);
    const map = await seatMap(t, show.id);
    assert.equal(map[0]?.status, 'available');
    const again = await t.request<Booking>('GET', `/api/v1/bookings/${old.body.id}`, { token: first.token });
    assert.equal(again.body.status, 'expired');
    const res = await hold(user(), show.id, [seats[0]?.id ?? '']);
    assert.equal(res.status, 201);
    const [row] = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [old.body.id]);
    assert.equal(row?.status, 'expired');
  });

  it('hold limit: a fourth pending hold → 409 HOLD_LIMIT_REACHED; lapsed holds do not count', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    for (let i = 0; i < 3; i++) assert.equal((await hold(u, show.id, [seats[i]?.id ?? ''])).status, 201);
    const fourth = await hold(u, show.id, [seats[3]?.id ?? '']);
    assert.equal(fourth.status, 409);
    assert.equal(fourth.body.code, 'HOLD_LIMIT_REACHED');
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND status = 'pending'`, [u.id]);
    assert.equal((await hold(u, show.id, [seats[3]?.id ?? ''])).status, 201);
  });

  it('hold limit: one user’s concurrent holds cannot get past the limit', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const results = await Promise.all(seats.slice(0, 8).map((s) => hold(u, show.id, [s.id])));
    assert.equal(results.filter((r) => r.status === 201).length, 3);
    assert.ok(results.filter((r) => r.status !== 201).every((r) => r.body.code === 'HOLD_LIMIT_REACHED'));
  });
});

describe('idempotency', () => {
  it('Idempotency-Key: same key and body → the first booking again; another body → 422', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const key = `key-${Date.now()}`;
    const first = await hold(u, show.id, [seats[0]?.id ?? '', seats[1]?.id ?? ''], { 'Idempotency-Key': key });
    assert.equal(first.status, 201);
    const replay = await hold(u, show.id, [seats[1]?.id ?? '', seats[0]?.id ?? ''], { 'Idempotency-Key': key });
    assert.equal(replay.status, 201);
    assert.equal(replay.body.id, first.body.id);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const other = await hold(u, show.id, [seats[2]?.id ?? ''], { 'Idempotency-Key': key });
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1`, [u.id])).length, 1);
    // Keys are per user: another user may use the same key.
    assert.equal((await hold(user(), show.id, [seats[3]?.id ?? ''], { 'Idempotency-Key': key })).status, 201);
    const bad = await hold(u, show.id, [seats[4]?.id ?? ''], { 'Idempotency-Key': 'x'.repeat(300) });
    assert.equal(bad.status, 422);
  });
});

describe('confirm', () => {
  it('confirm: tok_visa → 200 confirmed with a payment; again → 200, charged once; seats booked', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[4]?.id ?? '']);
    const res = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'confirmed');
    assert.ok(res.body.confirmedAt);
    assert.equal(res.body.payment?.status, 'succeeded');
    assert.equal(res.body.payment?.amount, b.body.total);
    assert.equal(res.body.payment?.provider, 'simulated');
    const again = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, res.body);
    assert.equal((await t.sql(`SELECT 1 FROM payments WHERE booking_id = $1`, [b.body.id])).length, 1);
    assert.equal((await seatMap(t, show.id)).find((s) => s.id === seats[4]?.id)?.status, 'booked');
  });

  it('confirm: tok_declined → 402 PAYMENT_DECLINED, the hold stays; a good card then confirms', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '']);
    const declined = await t.request<Problem>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_declined' } });
    assert.equal(declined.status, 402);
    assert.equal(declined.body.code, 'PAYMENT_DECLINED');
    assert.equal((await seatMap(t, show.id))[0]?.status, 'held');
    const ok = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_mastercard' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.payment?.status, 'succeeded');
  });

  it('confirm: expired → 409 BOOKING_EXPIRED; cancelled → 409 BOOKING_CANCELLED; nobody charged', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const lapsed = await hold(u, show.id, [seats[0]?.id ?? '']);
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [lapsed.body.id]);
    const r1 = await t.request<Problem>('POST', `/api/v1/bookings/${lapsed.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(r1.status, 409);
    assert.equal(r1.body.code, 'BOOKING_EXPIRED');
    const cancelled = await hold(u, show.id, [seats[1]?.id ?? '']);
    await t.request('POST', `/api/v1/bookings/${cancelled.body.id}/cancel`, { token: u.token });
    const r2 = await t.request<Problem>('POST', `/api/v1/bookings/${cancelled.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(r2.status, 409);
    assert.equal(r2.body.code, 'BOOKING_CANCELLED');
    assert.equal((await t.sql(`SELECT 1 FROM payments WHERE booking_id = ANY($1::uuid[])`, [[lapsed.body.id, cancelled.body.id]])).length, 0);
  });
});

describe('cancel', () => {
  it('cancel: pending → 200 cancelled, seats free at once; again → 200 unchanged', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '', seats[1]?.id ?? '']);
    const res = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/cancel`, { token: u.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.ok(res.body.cancelledAt);
    assert.ok((await seatMap(t, show.id)).slice(0, 2).every((s) => s.status === 'available'));
    assert.equal((await hold(user(), show.id, [seats[0]?.id ?? ''])).status, 201);
    const again = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/cancel`, { token: u.token });
    assert.equal(again.status, 200);
    assert.equal(again.body.cancelledAt, res.body.cancelledAt);
  });

  it('cancel: a confirmed booking → cancelled and its payment refunded', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '']);
    await t.request('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    const res = await t.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/cancel`, { token: u.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.ok(['refund_pending', 'refunded'].includes(res.body.payment?.status ?? ''), res.body.payment?.status);
    assert.equal((await seatMap(t, show.id))[0]?.status, 'available');
  });

  it('cancel: expired → 409 BOOKING_NOT_CANCELLABLE; after the show started → 409', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const lapsed = await hold(u, show.id, [seats[0]?.id ?? '']);
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [lapsed.body.id]);
    const r1 = await t.request<Problem>('POST', `/api/v1/bookings/${lapsed.body.id}/cancel`, { token: u.token });
    assert.equal(r1.status, 409);
    assert.equal(r1.body.code, 'BOOKING_NOT_CANCELLABLE');
    const live = await hold(u, show.id, [seats[1]?.id ?? '']);
    await t.request('POST', `/api/v1/bookings/${live.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    await t.sql(`UPDATE shows SET starts_at = now() - interval '1 minute' WHERE id = $1`, [show.id]);
    const r2 = await t.request<Problem>('POST', `/api/v1/bookings/${live.body.id}/cancel`, { token: u.token });
    assert.equal(r2.status, 409);
    assert.equal(r2.body.code, 'BOOKING_NOT_CANCELLABLE');
  });
});

describe('ownership and history', () => {
  it('another user’s booking → 404 for read, confirm and cancel; an admin may read it', async () => {
    const { show, seats } = await freshShow();
    const owner = user();
    const stranger = user();
    const b = await hold(owner, show.id, [seats[0]?.id ?? '']);
    assert.equal((await t.request('GET', `/api/v1/bookings/${b.body.id}`, { token: stranger.token })).status, 404);
    assert.equal((await t.request('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: stranger.token, body: { paymentToken: 'tok_visa' } })).status, 404);
    assert.equal((await t.request('POST', `/api/v1/bookings/${b.body.id}/cancel`, { token: stranger.token })).status, 404);
    assert.equal((await seatMap(t, show.id))[0]?.status, 'held');
    const asAdmin = await t.request<Booking>('GET', `/api/v1/bookings/${b.body.id}`, { token: admin.token });
    assert.equal(asAdmin.status, 200);
    assert.equal(asAdmin.body.userId, owner.id);
  });

  it('history: own bookings only, newest first, paged, filtered by status, in a bounded number of queries', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const b = await hold(u, show.id, [seats[i]?.id ?? '']);
      ids.push(b.body.id);
      await t.request('POST', `/api/v1/bookings/${b.body.id}/${i === 1 ? 'cancel' : 'confirm'}`, { token: u.token, body: i === 1 ? undefined : { paymentToken: 'tok_visa' } });
    }
    await hold(user(), show.id, [seats[5]?.id ?? '']); // someone else's
    const { result: all, queries } = await countQueries(t, () =>
      t.request<{ items: Booking[]; nextCursor: string | null }>('GET', '/api/v1/bookings', { token: u.token }),
    );
    assert.equal(all.status, 200);
    assert.ok(queries <= 2, `${queries} queries`);
    assert.deepEqual(all.body.items.map((b) => b.id), [...ids].reverse());
    assert.ok(all.body.items.every((b) => b.seats.length === 1 && b.show.movie.title));
    const page1 = await t.request<{ items: Booking[]; nextCursor: string | null }>('GET', '/api/v1/bookings?limit=2', { token: u.token });
    assert.equal(page1.body.items.length, 2);
    const page2 = await t.request<{ items: Booking[]; nextCursor: string | null }>('GET', `/api/v1/bookings?limit=2&cursor=${page1.body.nextCursor}`, { token: u.token });
    assert.deepEqual(page2.body.items.map((b) => b.id), [ids[0]]);
    assert.equal(page2.body.nextCursor, null);
    const cancelled = await t.request<{ items: Booking[] }>('GET', '/api/v1/bookings?status=cancelled', { token: u.token });
    assert.deepEqual(cancelled.body.items.map((b) => b.id), [ids[1]]);
    assert.equal((await t.request('GET', '/api/v1/bookings?status=lost', { token: u.token })).status, 422);
  });

  it('show bookings: admin sees every user’s; a customer → 403', async () => {
    const { show, seats } = await freshShow();
    await hold(user(), show.id, [seats[0]?.id ?? '']);
    await hold(user(), show.id, [seats[1]?.id ?? '']);
    const c = user();
    assert.equal((await t.request('GET', `/api/v1/shows/${show.id}/bookings`, { token: c.token })).status, 403);
    const res = await t.request<{ items: Booking[] }>('GET', `/api/v1/shows/${show.id}/bookings`, { token: admin.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 2);
  });
});

describe('show cancellation and expiry', () => {
  it('show cancel: every active booking becomes cancelled, confirmed ones refunded, seats free', async () => {
    const { show, seats } = await freshShow();
    const a = user();
    const b = user();
    const pending = await hold(a, show.id, [seats[0]?.id ?? '']);
    const paid = await hold(b, show.id, [seats[1]?.id ?? '']);
    await t.request('POST', `/api/v1/bookings/${paid.body.id}/confirm`, { token: b.token, body: { paymentToken: 'tok_visa' } });
    assert.equal((await t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token })).status, 200);
    const p = await t.request<Booking>('GET', `/api/v1/bookings/${pending.body.id}`, { token: a.token });
    const q = await t.request<Booking>('GET', `/api/v1/bookings/${paid.body.id}`, { token: b.token });
    assert.equal(p.body.status, 'cancelled');
    assert.equal(q.body.status, 'cancelled');
    assert.ok(['refund_pending', 'refunded'].includes(q.body.payment?.status ?? ''));
    assert.ok((await seatMap(t, show.id)).every((s) => s.status === 'available'));
  });

  it('sweep: lapsed holds become expired and the refunds left pending are retried', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '']);
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [b.body.id]);
    const result = await t.app.services.bookings.sweep();
    assert.ok(result.expired >= 1);
    const [row] = await t.sql<{ status: string; expired_at: Date | null }>(`SELECT status, expired_at FROM bookings WHERE id = $1`, [b.body.id]);
    assert.equal(row?.status, 'expired');
    assert.ok(row.expired_at);
    const [claim] = await t.sql<{ booking_status: string }>(`SELECT booking_status FROM booking_seats WHERE booking_id = $1`, [b.body.id]);
    assert.equal(claim?.booking_status, 'expired', 'the claim follows its booking (cascade)');
  });
});

describe('defence in depth', () => {
  it('the database refuses a second active claim on a seat, written straight into it', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '']);
    const [other] = await t.sql<{ id: string }>(
      `INSERT INTO bookings (user_id, show_id, total, currency, expires_at) VALUES ($1, $2, 0, 'USD', now() + interval '1 hour') RETURNING id`,
      [user().id, show.id],
    );
    await assert.rejects(
      t.sql(`INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price) VALUES ($1, 'pending', $2, $3, 0)`, [other?.id, show.id, seats[0]?.id]),
      (err: Error & { code?: string; constraint?: string }) => err.code === '23505' && err.constraint === 'booking_seats_one_active_claim',
    );
    // Nor can a claim's status drift from its booking's, nor a claim point at another show's seat.
    await assert.rejects(t.sql(`UPDATE booking_seats SET booking_status = 'confirmed' WHERE booking_id = $1`, [b.body.id]));
    const elsewhere = await freshShow();
    await assert.rejects(
      t.sql(`INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price) VALUES ($1, 'pending', $2, $3, 0)`, [other?.id, show.id, elsewhere.seats[0]?.id]),
    );
    await t.sql(`UPDATE bookings SET status = 'cancelled' WHERE id = $1`, [other?.id]);
    await t.sql(`INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price) VALUES ($1, 'cancelled', $2, $3, 0)`, [other?.id, show.id, seats[0]?.id]);
  });
});

describe('edges found in review', () => {
  it('confirm after the show started, or of a cancelled show → 409 SHOW_NOT_BOOKABLE, nobody charged', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const b = await hold(u, show.id, [seats[0]?.id ?? '']);
    await t.sql(`UPDATE shows SET starts_at = now() - interval '1 minute' WHERE id = $1`, [show.id]);
    const res = await t.request<Problem>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'SHOW_NOT_BOOKABLE');
    assert.equal((await t.sql(`SELECT 1 FROM payments WHERE booking_id = $1`, [b.body.id])).length, 0);
  });

  it('best seats of a cancelled show → 409 SHOW_NOT_BOOKABLE; bookings of an unknown show (admin) → 404', async () => {
    const { show } = await freshShow();
    await t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token });
    const best = await t.request<Problem>('POST', `/api/v1/shows/${show.id}/best-seats`, { body: { count: 2 } });
    assert.equal(best.status, 409);
    assert.equal(best.body.code, 'SHOW_NOT_BOOKABLE');
    const list = await t.request<Problem>('GET', '/api/v1/shows/00000000-0000-4000-8000-000000000000/bookings', { token: admin.token });
    assert.equal(list.status, 404);
  });
});

describe('a slow payment provider', () => {
  it('confirm: the provider does not answer within PAYMENT_TIMEOUT_MS → 503 with Retry-After, only the open attempt recorded (not shown), the hold stays; a retry → one payment row under the same key', async () => {
    // The first charge hangs until the test lets it go, as a provider may answer after the
    // caller gave up. Charges are idempotent per key (the booking id), as a real provider's are.
    const calls: { bookingId: string; amount: number; idempotencyKey: string }[] = [];
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    let abandoned: Promise<unknown> = Promise.resolve();
    const references = new Map<string, string>();
    const provider = {
      name: 'slow',
      charge({ bookingId, amount, idempotencyKey }: { bookingId: string; amount: number; idempotencyKey: string }) {
        calls.push({ bookingId, amount, idempotencyKey });
        const first = calls.length === 1;
        const answer = (async () => {
          if (first) await gate;
          const reference = references.get(bookingId) ?? `ref_${calls.length}_${bookingId}`;
          references.set(bookingId, reference);
          return { ok: true as const, reference };
        })();
        if (first) abandoned = answer;
        return answer;
      },
      refund: () => Promise.resolve({ ok: true }),
    };
    const s = await startTestApp({ PAYMENT_TIMEOUT_MS: '200' }, { payments: provider });
    try {
      const a = await signUpAdmin(s);
      const [u] = (await makeUsers(s, 1)) as [SignedIn];
      const show = await makeShow(s, a);
      const map = await seatMap(s, show.id);
      const b = await s.request<Booking>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [map[0]?.id] } });
      const payments = () =>
        s.sql<{ status: string; amount: number; provider_ref: string | null }>(`SELECT status, amount, provider_ref FROM payments WHERE booking_id = $1`, [b.body.id]);
      const bookingStatus = async () => (await s.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [b.body.id]))[0]?.status;

      const started = Date.now();
      const res = await s.request<Problem>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
      assert.equal(res.status, 503);
      assert.ok(Date.now() - started < 1500);
      assert.ok(res.headers.get('retry-after'));
      assert.equal(await bookingStatus(), 'pending');
      // Recorded before the call (ADR 0013): the attempt, open, with no money known; the booking shows no payment.
      assert.deepEqual(await payments(), [{ status: 'processing', amount: b.body.total, provider_ref: null }], 'only the open attempt is recorded');
      assert.equal((await s.request<Booking>('GET', `/api/v1/bookings/${b.body.id}`, { token: u.token })).body.payment, null);
      assert.equal((await seatMap(s, show.id))[0]?.status, 'held');

      // The retry while the first charge is still out: the same key, one payment row.
      const retry = await s.request<Booking>('POST', `/api/v1/bookings/${b.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
      assert.equal(retry.status, 200, retry.text);
      assert.equal(retry.body.status, 'confirmed');
      const [key] = (await s.sql<{ charge_key: string }>(`SELECT charge_key FROM payments WHERE booking_id = $1`, [b.body.id])).map((r) => r.charge_key);
      assert.deepEqual(calls, [
        { bookingId: b.body.id, amount: b.body.total, idempotencyKey: key },
        { bookingId: b.body.id, amount: b.body.total, idempotencyKey: key },
      ], 'both charges carry the attempt’s idempotency key');
      const reference = references.get(b.body.id);
      assert.deepEqual(await payments(), [{ status: 'succeeded', amount: b.body.total, provider_ref: reference }]);
      assert.equal(await bookingStatus(), 'confirmed');
      assert.equal(retry.body.payment?.status, 'succeeded');

      // The abandoned charge answers at last: the server records nothing more.
      letGo();
      await abandoned;
      const again = await s.request<Booking>('GET', `/api/v1/bookings/${b.body.id}`, { token: u.token });
      assert.deepEqual(again.body, retry.body);
      assert.deepEqual(await payments(), [{ status: 'succeeded', amount: b.body.total, provider_ref: reference }]);
      assert.equal(calls.length, 2);
    } finally {
      letGo();
      await s.close();
    }
  });
});

describe('history paging', () => {
  it('bookings created in the same millisecond are each listed once across pages (the cursor keeps microseconds)', async () => {
    const { show, seats } = await freshShow();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const b = await hold(user(), show.id, [seats[i]?.id ?? '']);
      assert.equal(b.status, 201, b.text);
      ids.push(b.body.id);
    }
    // A rush creates bookings microseconds apart: a cursor cut to the millisecond skipped the
    // rows of the page boundary's millisecond that sort after it (found by the flash-sale audit).
    await t.sql(
      `UPDATE bookings b SET created_at = timestamptz '2030-01-01 12:00:00.123000+00' + make_interval(secs => x.n * 0.0002)
         FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, n) WHERE b.id = x.id`,
      [ids],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: HttpResult<{ items: Booking[]; nextCursor: string | null }> = await t.request('GET', `/api/v1/shows/${show.id}/bookings?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`, { token: admin.token });
      assert.equal(page.status, 200, page.text);
      seen.push(...page.body.items.map((b) => b.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(seen, [...ids].reverse());
  });
});
