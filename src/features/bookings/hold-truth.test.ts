/**
 * The hold of migration 009 (ADR 0014): a 409 SEATS_UNAVAILABLE names only seats that a
 * committed booking holds or has bought; a hold waits (bounded) for a claim in flight instead
 * of skipping its seats; it takes the seat locks in ascending id order; it answers with the
 * booking document in one round trip. HTTP in, rows out; interleavings are forced with locks
 * held by the test and proved with pg_stat_activity, never with sleeps.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { makeShow, seatMap, type SeatMapSeat } from '../../../test/builders.ts';
import {
  countQueries,
  makeUsers,
  signUpAdmin,
  startTestApp,
  waitForLockWaiters,
  type HttpResult,
  type LockWaiter,
  type Problem,
  type SignedIn,
  type TestApp,
} from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';

interface Booking {
  id: string;
  status: string;
  seats: { id: string }[];
}

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];
let nextUser = 0;
const user = (): SignedIn => {
  const u = users[nextUser++];
  if (u === undefined) throw new Error('out of test users');
  return u;
};

before(async () => {
  t = await startTestApp({
    // Long holds and generous lock waits: these tests are about who gets a seat and what the
    // losers are told, not about timeouts (the last describe block covers those).
    HOLD_TTL_SECONDS: '3600',
    DB_POOL_MAX: '10',
    DB_CONNECTION_TIMEOUT_MS: '30000',
    DB_LOCK_TIMEOUT_MS: '20000',
    DB_STATEMENT_TIMEOUT_MS: '30000',
  });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 340);
});
after(async () => {
  await t.close();
});

async function assertInvariants() {
  const report = await checkInvariants((q) => t.sql(q));
  assert.deepEqual(report.violations, []);
}

const holdReq = (u: SignedIn, showId: string, seatIds: string[], headers?: Record<string, string>) =>
  t.request<Booking & Problem>('POST', '/api/v1/bookings', { token: u.token, body: { showId, seatIds }, ...(headers ? { headers } : {}) });

/** A connection of the test's own, for holding locks across requests. */
async function lockingClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: t.databaseUrl, application_name: 'hold-truth-locker' });
  await c.connect();
  return c;
}

/**
 * Resolves once n backends wait for a lock, the one serving `req` among them; fails at once
 * if `req` answers before that (it did not wait).
 */
async function provenWaiting(req: Promise<HttpResult>, n: number, pred?: (w: LockWaiter) => boolean): Promise<LockWaiter[]> {
  let done = false;
  const answeredFirst = req.then((r) => {
    if (!done) throw new Error(`answered ${r.status} ${r.text} without waiting for a lock`);
    return [];
  });
  try {
    return await Promise.race([waitForLockWaiters(t, n, pred), answeredFirst]);
  } finally {
    done = true;
    answeredFirst.catch(() => undefined);
  }
}

/** The seats with an active claim (pending or confirmed) in this show → the claiming booking. */
async function claims(showId: string): Promise<Map<string, string>> {
  const rows = await t.sql<{ show_seat_id: string; booking_id: string }>(
    `SELECT show_seat_id, booking_id FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`,
    [showId],
  );
  return new Map(rows.map((r) => [r.show_seat_id, r.booking_id]));
}

/** A hold of `owner` on this seat that has lapsed but is not yet expired: a hold of the seat locks its booking row. */
async function lapsedHoldOn(showId: string, seatId: string, owner: SignedIn): Promise<string> {
  const res = await holdReq(owner, showId, [seatId]);
  assert.equal(res.status, 201, res.text);
  await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [res.body.id]);
  return res.body.id;
}

function pick<T>(list: T[], n: number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}

describe('truthful 409s', () => {
  it('race: 300 buyers, 40 seats, 2–4 seats each, long holds, no cancels → every seat named in any 409 is held by a booking that answered 201', async () => {
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 20, category: 'standard' }, { label: 'B', seats: 20, category: 'standard' }] });
    const seats = await seatMap(t, show.id);
    assert.equal(seats.length, 40);
    const buyers = Array.from({ length: 300 }, () => user());
    // Each buyer asks once (no retry): a seat a 409 named wrongly has no later buyer to sell it.
    const results = await Promise.all(buyers.map((u) => holdReq(u, show.id, pick(seats, 2 + Math.floor(Math.random() * 3)).map((s) => s.id))));
    const byStatus = results.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    assert.deepEqual(Object.keys(byStatus).sort(), ['201', '409'], JSON.stringify(byStatus));
    const won = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    const named = new Set(results.filter((r) => r.status === 409).flatMap((r) => {
      assert.equal(r.body.code, 'SEATS_UNAVAILABLE', r.text);
      assert.ok((r.body.unavailableSeatIds ?? []).length > 0, `a 409 names the seats it lost: ${r.text}`);
      return r.body.unavailableSeatIds ?? [];
    }));
    const claimed = await claims(show.id);
    const untrue = [...named].filter((seat) => !won.has(claimed.get(seat) ?? ''));
    assert.deepEqual(untrue, [], `${untrue.length} of ${named.size} seats named in 409s are not held by a successful booking (${JSON.stringify(byStatus)})`);
    // And the 201s are what the rows say.
    assert.equal(new Set(claimed.values()).size, won.size);
    await assertInvariants();
  });

  it('a hold that waits for a claim in flight which then fails → gets the seat (201), instead of a 409 naming a seat nobody holds', async () => {
    const show = await makeShow(t, admin);
    const [x, y] = await seatMap(t, show.id) as [SeatMapSeat, SeatMapSeat];
    // A: a hold of [x, y] stalls after locking both seats, on y's lapsed booking (the test locks its row).
    const lapsed = await lapsedHoldOn(show.id, y.id, user());
    const locker = await lockingClient();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE', [lapsed]);
      const a = holdReq(user(), show.id, [x.id, y.id]);
      await provenWaiting(a, 1);
      // B wants x, which A has locked but not claimed: B waits for A's outcome.
      const b = holdReq(user(), show.id, [x.id]);
      await provenWaiting(b, 2);
      // The lapsed booking turns out to be confirmed (its owner paid at the last moment): A loses y.
      await locker.query(`UPDATE bookings SET status = 'confirmed', confirmed_at = now() WHERE id = $1`, [lapsed]);
      await locker.query(
        `INSERT INTO payments (booking_id, provider, provider_ref, status, amount, currency)
         SELECT id, 'simulated', 'test-charge', 'succeeded', total, currency FROM bookings WHERE id = $1`,
        [lapsed],
      );
      await locker.query('COMMIT');
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.status, 409, ra.text);
      assert.deepEqual(ra.body.unavailableSeatIds, [y.id], 'A is told the truth: y is bought');
      assert.equal(rb.status, 201, `B must get x, which nobody holds: ${rb.text}`);
      assert.deepEqual((await claims(show.id)).get(x.id), rb.body.id);
    } finally {
      await locker.end();
    }
    await assertInvariants();
  });

  it('a hold that waits for a claim in flight which then succeeds → 409 naming exactly the seats the winner holds', async () => {
    const show = await makeShow(t, admin);
    const [x, y, z] = await seatMap(t, show.id) as [SeatMapSeat, SeatMapSeat, SeatMapSeat];
    const lapsed = await lapsedHoldOn(show.id, y.id, user());
    const locker = await lockingClient();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE', [lapsed]);
      const a = holdReq(user(), show.id, [x.id, y.id]);
      await provenWaiting(a, 1);
      const b = holdReq(user(), show.id, [x.id, z.id]);
      await provenWaiting(b, 2);
      await locker.query('ROLLBACK'); // the lapsed hold stays lapsed: A ends it and claims x and y
      const [ra, rb] = await Promise.all([a, b]);
      assert.equal(ra.status, 201, ra.text);
      assert.equal(rb.status, 409, rb.text);
      assert.deepEqual(rb.body.unavailableSeatIds, [x.id]);
      const held = await claims(show.id);
      assert.equal(held.get(x.id), ra.body.id);
      assert.equal(held.get(z.id), undefined, 'B claimed nothing');
    } finally {
      await locker.end();
    }
    await assertInvariants();
  });
});

describe('seat lock order', () => {
  it('a hold of [low, mid, high] waiting on mid holds low and has not touched high: the seats are locked in ascending id order', async () => {
    const show = await makeShow(t, admin);
    const [low, mid, high] = (await seatMap(t, show.id)).map((s) => s.id).sort().slice(0, 3) as [string, string, string];
    const locker = await lockingClient();
    const prober = await lockingClient();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM show_seats WHERE id = $1 FOR UPDATE', [mid]);
      // Sent in descending order: the server's order, not the client's, is what counts.
      const hold = holdReq(user(), show.id, [high, mid, low]);
      await provenWaiting(hold, 1);
      const tryLock = async (id: string): Promise<boolean> => {
        try {
          await prober.query('SELECT 1 FROM show_seats WHERE id = $1 FOR UPDATE NOWAIT', [id]);
          return true;
        } catch (err) {
          if ((err as { code?: string }).code === '55P03') return false;
          throw err;
        }
      };
      assert.equal(await tryLock(high), true, 'high is free: the hold waits on mid before reaching high (a descending order would hold high now)');
      assert.equal(await tryLock(low), false, 'low is locked: the hold took it before mid');
      await locker.query('ROLLBACK');
      const res = await hold;
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.seats.map((s) => s.id).sort(), [low, mid, high]);
    } finally {
      await locker.end();
      await prober.end();
    }
    await assertInvariants();
  });
});

describe('one round trip', () => {
  it('a hold is one query, and its answer is the booking exactly as GET /bookings/:id shows it', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const u = user();
    await t.request('GET', '/api/v1/me', { token: u.token }); // the session cache knows this user now
    const { result: res, queries } = await countQueries(t, () => holdReq(u, show.id, [seats[3]?.id ?? '', seats[0]?.id ?? '']));
    assert.equal(res.status, 201, res.text);
    assert.equal(queries, 1, 'one statement, on one checked-out client');
    const read = await t.request('GET', `/api/v1/bookings/${res.body.id}`, { token: u.token });
    assert.equal(res.text, read.text, 'byte for byte: same keys, order and formats as toDto');
  });

  it('a replay (same Idempotency-Key) is one query too, and answers the booking as it is now: paid, or lapsed', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const u = user();
    const key = randomUUID();
    const first = await holdReq(u, show.id, [seats[0]?.id ?? ''], { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    const paid = await t.request('POST', `/api/v1/bookings/${first.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(paid.status, 200, paid.text);
    const { result: replay, queries } = await countQueries(t, () => holdReq(u, show.id, [seats[0]?.id ?? ''], { 'Idempotency-Key': key }));
    assert.equal(queries, 1);
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.status, 'confirmed');
    assert.equal(replay.text, (await t.request('GET', `/api/v1/bookings/${first.body.id}`, { token: u.token })).text);

    const key2 = randomUUID();
    const second = await holdReq(u, show.id, [seats[1]?.id ?? ''], { 'Idempotency-Key': key2 });
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [second.body.id]);
    const lapsedReplay = await holdReq(u, show.id, [seats[1]?.id ?? ''], { 'Idempotency-Key': key2 });
    assert.equal(lapsedReplay.body.status, 'expired');
    assert.equal(lapsedReplay.text, (await t.request('GET', `/api/v1/bookings/${second.body.id}`, { token: u.token })).text);
  });
});

describe('a seat lock not granted in time', () => {
  it('holds waiting past the bound (DB_LOCK_TIMEOUT_MS) → each answers 503 with Retry-After, no connection is dropped, and the seat is held once the lock goes', async () => {
    const s = await startTestApp({ DB_LOCK_TIMEOUT_MS: '300', DB_POOL_MAX: '4' });
    const locker = new pg.Client({ connectionString: s.databaseUrl, application_name: 'hold-truth-locker' });
    await locker.connect();
    try {
      const a = await signUpAdmin(s);
      const buyers = await makeUsers(s, 25);
      const show = await makeShow(s, a);
      const [seat, other] = (await seatMap(s, show.id)).map((x) => x.id) as [string, string];
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM show_seats WHERE id = $1 FOR UPDATE', [seat]);
      const wave = (from: number) =>
        Promise.all(buyers.slice(from, from + 12).map((u) => s.request<Problem>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [other, seat] } })));
      const first = await wave(0);
      let opened = 0;
      const onConnect = () => opened++;
      s.db.pool.on('connect', onConnect);
      const second = await wave(12);
      s.db.pool.off('connect', onConnect);
      for (const r of [...first, ...second]) {
        assert.equal(r.status, 503, r.text);
        assert.equal(r.body.code, 'SERVICE_UNAVAILABLE');
        assert.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
      }
      assert.equal(opened, 0, 'a lock timeout keeps its pooled connection: the second wave reused the first wave’s');
      assert.deepEqual(await s.sql(`SELECT 1 FROM bookings WHERE show_id = $1`, [show.id]), [], 'nothing held, not even the free seat');
      await locker.query('ROLLBACK');
      const after = await s.request<Booking>('POST', '/api/v1/bookings', { token: buyers[24]?.token, body: { showId: show.id, seatIds: [seat, other] } });
      assert.equal(after.status, 201, after.text);
    } finally {
      await locker.end();
      await s.close();
    }
  });
});
