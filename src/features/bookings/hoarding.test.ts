/**
 * Seat hoarding (issue #10, item 7): the per-show seat cap (MAX_SEATS_PER_USER_PER_SHOW) and
 * the re-hold cool-down (REHOLD_COOLDOWN_SECONDS), both decided inside hold_seats() under the
 * per-user advisory lock. HTTP in, rows out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap, type SeatMapSeat } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, waitUntil, type HttpResult, type Problem, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';

interface Booking {
  id: string;
  status: string;
  seats: { id: string }[];
}
type HoldAnswer = Booking & Problem & { cooldownSeatIds?: string[]; maxSeatsPerShow?: number; seatsHeldOrBought?: number };

// 4 rows of 10: room for more than one user's cap.
const rows = ['A', 'B', 'C', 'D'].map((label) => ({ label, seats: 10, category: 'standard' }));

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
  // The defaults of both settings (10 seats, 60 s); the pending-hold limit out of the way.
  t = await startTestApp({ MAX_PENDING_HOLDS_PER_USER: '100' });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 40);
});
after(async () => {
  const report = await checkInvariants((q) => t.sql(q));
  await t.close();
  assert.deepEqual(report.violations, []);
});

async function freshShow(app: TestApp = t): Promise<{ showId: string; seats: string[] }> {
  const show = await makeShow(app, admin, { rows });
  return { showId: show.id, seats: (await seatMap(app, show.id)).map((s: SeatMapSeat) => s.id) };
}

const hold = (u: SignedIn, showId: string, seatIds: string[], app: TestApp = t): Promise<HttpResult<HoldAnswer>> =>
  app.request<HoldAnswer>('POST', '/api/v1/bookings', { token: u.token, body: { showId, seatIds } });

const cancel = (u: SignedIn, id: string, app: TestApp = t) => app.request<Booking>('POST', `/api/v1/bookings/${id}/cancel`, { token: u.token });

async function held(u: SignedIn, showId: string, seatIds: string[], app: TestApp = t): Promise<Booking> {
  const res = await hold(u, showId, seatIds, app);
  assert.equal(res.status, 201, res.text);
  return res.body;
}

/** Seats the user holds (live) or has bought in the show, counted in the database. */
async function claimsOf(u: SignedIn, showId: string, app: TestApp = t): Promise<number> {
  const [r] = await app.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
      WHERE b.user_id = $1 AND b.show_id = $2 AND (b.status = 'confirmed' OR (b.status = 'pending' AND b.expires_at > now()))`,
    [u.id, showId],
  );
  return r?.n ?? -1;
}

function assertCooldown(res: HttpResult<HoldAnswer>, seats: string[], maxRetryAfter = 60): number {
  assert.equal(res.status, 409, res.text);
  assert.equal(res.body.code, 'REHOLD_COOLDOWN');
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  assert.deepEqual(res.body.cooldownSeatIds, [...seats].sort());
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${res.headers.get('retry-after')}`);
  return retryAfter;
}

describe('seat cap (MAX_SEATS_PER_USER_PER_SHOW)', () => {
  it('seat cap: holds that would take one user past 10 seats of a show → 409 SEAT_LIMIT_REACHED, nothing held; up to 10 is fine', async () => {
    const { showId, seats } = await freshShow();
    const u = user();
    await held(u, showId, seats.slice(0, 4));
    await held(u, showId, seats.slice(4, 8));
    const over = await hold(u, showId, seats.slice(8, 11));
    assert.equal(over.status, 409, over.text);
    assert.equal(over.body.code, 'SEAT_LIMIT_REACHED');
    assert.equal(over.body.maxSeatsPerShow, 10);
    assert.equal(over.body.seatsHeldOrBought, 8);
    assert.equal(await claimsOf(u, showId), 8, 'nothing held by the refused request');
    await held(u, showId, seats.slice(8, 10));
    assert.equal(await claimsOf(u, showId), 10);
    assert.equal((await hold(u, showId, seats.slice(10, 11))).body.code, 'SEAT_LIMIT_REACHED');

    // Per show and per user: another show, and another user of this show, are not affected.
    const other = await freshShow();
    await held(u, other.showId, other.seats.slice(0, 10));
    await held(user(), showId, seats.slice(10, 20));
  });

  it('seat cap: bought seats count, cancelled and lapsed ones do not', async () => {
    const { showId, seats } = await freshShow();
    const u = user();
    const bought = await held(u, showId, seats.slice(0, 6));
    const paid = await t.request<Booking>('POST', `/api/v1/bookings/${bought.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(paid.status, 200, paid.text);
    assert.equal((await hold(u, showId, seats.slice(6, 11))).body.code, 'SEAT_LIMIT_REACHED', '6 bought + 5');
    const pending = await held(u, showId, seats.slice(6, 10));
    assert.equal((await cancel(u, pending.id)).status, 200);
    // A lapsed hold (moved into the past in the database) no longer counts either.
    const lapsing = await held(u, showId, seats.slice(10, 14));
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 hour' WHERE id = $1`, [lapsing.id]);
    await held(u, showId, seats.slice(20, 24));
    assert.equal(await claimsOf(u, showId), 10);
  });

  it('seat cap: 20 holds of one seat each, sent by one user at once → exactly 10 held, 10 refused with SEAT_LIMIT_REACHED', async () => {
    const { showId, seats } = await freshShow();
    const u = user();
    const answers = await Promise.all(seats.slice(0, 20).map((s) => hold(u, showId, [s])));
    const codes = answers.map((a) => (a.status === 201 ? 'held' : `${a.status} ${a.body.code}`));
    assert.equal(codes.filter((c) => c === 'held').length, 10, codes.join(', '));
    assert.equal(codes.filter((c) => c === '409 SEAT_LIMIT_REACHED').length, 10, codes.join(', '));
    assert.equal(await claimsOf(u, showId), 10, 'rows: the user holds exactly 10 seats of the show');
  });

  it('seat cap: 12 holds of 3 seats each, sent by one user at once → 3 held (9 seats), never more than 10 seats in rows', async () => {
    const { showId, seats } = await freshShow();
    const u = user();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => hold(u, showId, seats.slice(i * 3, i * 3 + 3))));
    assert.equal(answers.filter((a) => a.status === 201).length, 3, answers.map((a) => a.status).join(','));
    assert.ok(answers.every((a) => a.status === 201 || a.body.code === 'SEAT_LIMIT_REACHED'));
    assert.equal(await claimsOf(u, showId), 9);
  });

  it('seat cap: MAX_SEATS_PER_USER_PER_SHOW=0 → no cap: one user holds 30 seats of a show', async () => {
    const app = await startTestApp({ MAX_SEATS_PER_USER_PER_SHOW: '0', MAX_PENDING_HOLDS_PER_USER: '100' }, { databaseUrl: t.databaseUrl });
    try {
      const { showId, seats } = await freshShow(app);
      const u = user();
      for (let i = 0; i < 3; i++) await held(u, showId, seats.slice(i * 10, i * 10 + 10), app);
      assert.equal(await claimsOf(u, showId, app), 30);
    } finally {
      await app.close();
    }
  });
});

describe('pending-hold limit (MAX_PENDING_HOLDS_PER_USER)', () => {
  it('hold limit: the default 3 → the 4th pending booking is 409 HOLD_LIMIT_REACHED; MAX_PENDING_HOLDS_PER_USER=0 → no limit: 6 pending bookings', async () => {
    const limited = await startTestApp({}, { databaseUrl: t.databaseUrl });
    const open = await startTestApp({ MAX_PENDING_HOLDS_PER_USER: '0' }, { databaseUrl: t.databaseUrl });
    try {
      const a = await freshShow(limited);
      const u = user();
      for (let i = 0; i < 3; i++) await held(u, a.showId, [a.seats[i] ?? ''], limited);
      const fourth = await hold(u, a.showId, [a.seats[3] ?? ''], limited);
      assert.equal(fourth.status, 409);
      assert.equal((fourth.body as Problem).code, 'HOLD_LIMIT_REACHED');

      const b = await freshShow(open);
      const v = user();
      for (let i = 0; i < 6; i++) await held(v, b.showId, [b.seats[i] ?? ''], open);
      const [row] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM bookings WHERE user_id = $1 AND status = 'pending'`, [v.id]);
      assert.equal(row?.n, 6);
    } finally {
      await open.close();
      await limited.close();
    }
  });
});

describe('re-hold cool-down (REHOLD_COOLDOWN_SECONDS)', () => {
  it('cool-down: cancel a pending hold, re-hold any of its seats at once → 409 REHOLD_COOLDOWN with Retry-After; other seats and other users are fine', async () => {
    const { showId, seats } = await freshShow();
    const [a, b, c] = seats as [string, string, string];
    const u = user();
    const first = await held(u, showId, [a, b]);
    assert.equal((await cancel(u, first.id)).status, 200);

    const again = await hold(u, showId, [b, c]);
    const retryAfter = assertCooldown(again, [b]);
    assert.ok(retryAfter >= 58, `Retry-After ${retryAfter} right after the cancel`);
    assert.equal(await claimsOf(u, showId), 0, 'nothing held');
    await held(u, showId, [c]); // seats they never released
    await held(user(), showId, [a, b]); // anyone else, at once
  });

  it('cool-down: a hold that lapses (HOLD_TTL_SECONDS=1) → the same user cannot re-hold its seats; another user can at once', async () => {
    const app = await startTestApp({ HOLD_TTL_SECONDS: '1', MAX_PENDING_HOLDS_PER_USER: '100' }, { databaseUrl: t.databaseUrl });
    try {
      const { showId, seats } = await freshShow(app);
      const [a, b] = seats as [string, string];
      const u = user();
      const lapsing = await held(u, showId, [a, b], app);
      await waitUntil(async () => {
        const [r] = await app.sql<{ lapsed: boolean }>(`SELECT expires_at <= now() AS lapsed FROM bookings WHERE id = $1`, [lapsing.id]);
        return r?.lapsed === true;
      }, 'the hold to lapse', 10_000);

      assertCooldown(await hold(u, showId, [a], app), [a]);
      // Also once the sweep has marked it expired.
      await app.app.services.bookings.sweep();
      const [row] = await app.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [lapsing.id]);
      assert.equal(row?.status, 'expired');
      assertCooldown(await hold(u, showId, [a, b], app), [a, b]);
      await held(user(), showId, [a, b], app);
    } finally {
      await app.close();
    }
  });

  it('cool-down: Retry-After counts down from the release, and once it has passed the same user holds the seats again', async () => {
    const { showId, seats } = await freshShow();
    const [a] = seats as [string];
    const u = user();
    const first = await held(u, showId, [a]);
    assert.equal((await cancel(u, first.id)).status, 200);
    // The release moved 50 s into the past: 10 s of the 60 are left.
    await t.sql(`UPDATE bookings SET cancelled_at = cancelled_at - interval '50 seconds' WHERE id = $1`, [first.id]);
    const retryAfter = assertCooldown(await hold(u, showId, [a]), [a]);
    assert.ok(retryAfter >= 9 && retryAfter <= 11, `Retry-After ${retryAfter}`);
    await t.sql(`UPDATE bookings SET cancelled_at = cancelled_at - interval '11 seconds' WHERE id = $1`, [first.id]);
    await held(u, showId, [a]);
  });

  it('cool-down: cancelling a paid booking → no cool-down (only released holds are)', async () => {
    const { showId, seats } = await freshShow();
    const [a] = seats as [string];
    const u = user();
    const b = await held(u, showId, [a]);
    assert.equal((await t.request('POST', `/api/v1/bookings/${b.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } })).status, 200);
    assert.equal((await cancel(u, b.id)).status, 200);
    await held(u, showId, [a]);
  });

  it('cool-down: one user cancels and re-holds the same seats at the same moment, 10 times → the re-hold never succeeds', async () => {
    const { showId, seats } = await freshShow();
    const u = user();
    for (let i = 0; i < 10; i++) {
      const seat = seats[i] as string;
      const b = await held(u, showId, [seat]);
      const [cancelled, rehold] = await Promise.all([cancel(u, b.id), hold(u, showId, [seat])]);
      assert.equal(cancelled.status, 200);
      assert.equal(rehold.status, 409, rehold.text);
      assert.ok(['REHOLD_COOLDOWN', 'SEATS_UNAVAILABLE'].includes(rehold.body.code), rehold.body.code);
    }
    assert.equal(await claimsOf(u, showId), 0);
  });

  it('cool-down: REHOLD_COOLDOWN_SECONDS=0 → cancelled and lapsed seats can be held again by the same user at once', async () => {
    const app = await startTestApp({ REHOLD_COOLDOWN_SECONDS: '0', MAX_PENDING_HOLDS_PER_USER: '100' }, { databaseUrl: t.databaseUrl });
    try {
      const { showId, seats } = await freshShow(app);
      const [a, b] = seats as [string, string];
      const u = user();
      const first = await held(u, showId, [a], app);
      assert.equal((await cancel(u, first.id, app)).status, 200);
      await held(u, showId, [a], app);
      const lapsing = await held(u, showId, [b], app);
      await app.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [lapsing.id]);
      await held(u, showId, [b], app);
    } finally {
      await app.close();
    }
  });
});

it('openapi: the hold documents 409 SEAT_LIMIT_REACHED and REHOLD_COOLDOWN with the settings that govern them', async () => {
  const doc = await t.request<{ paths: Record<string, Record<string, { description?: string; responses: Record<string, { description: string }> }>> }>('GET', '/openapi.json');
  const op = doc.body.paths['/api/v1/bookings']?.['post'];
  const conflict = op?.responses['409']?.description ?? '';
  for (const word of ['SEAT_LIMIT_REACHED', 'REHOLD_COOLDOWN', 'Retry-After']) assert.ok(conflict.includes(word), `409 mentions ${word}: ${conflict}`);
  for (const word of ['MAX_SEATS_PER_USER_PER_SHOW', 'REHOLD_COOLDOWN_SECONDS']) assert.ok(op?.description?.includes(word), `description mentions ${word}`);
});
