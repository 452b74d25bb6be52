/**
 * Races through HTTP against the running server, many clients at once, then the invariants
 * checked in the database. Run repeatedly with `npm test -- races`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { makeShow, seatMap, type SeatMapSeat } from '../../../test/builders.ts';
import {
  makeUsers,
  signUpAdmin,
  startTestApp,
  waitForLockWaiters,
  within,
  type HttpResult,
  type LockWaiter,
  type SignedIn,
  type TestApp,
} from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];

before(async () => {
  // Generous waits: these tests are about who wins a race, not about timeouts (the chaos
  // suite covers those), and a loaded 2-core CI machine can make lock queues long.
  t = await startTestApp({
    MAX_PENDING_HOLDS_PER_USER: '5',
    // The churn race has each user cancel and re-hold the same few seats at once.
    REHOLD_COOLDOWN_SECONDS: '0',
    DB_POOL_MAX: '10',
    DB_CONNECTION_TIMEOUT_MS: '30000',
    DB_LOCK_TIMEOUT_MS: '20000',
    DB_STATEMENT_TIMEOUT_MS: '30000',
  });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 300);
});
after(async () => {
  await t.close();
});

const sql = (q: string) => t.sql(q);
async function assertInvariants() {
  const report = await checkInvariants(sql);
  assert.deepEqual(report.violations, []);
}
function pick<T>(list: T[], n: number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy.slice(0, n);
}
/**
 * Resolves once n backends of the database wait for a lock, the one serving `req` among them;
 * fails at once if `req` answers before that (it did not wait).
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

/** A connection of the test's own, for holding locks across requests. */
async function lockingClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: t.databaseUrl, application_name: 'race-test-locker' });
  await c.connect();
  return c;
}

/** A hold of another user on this seat that has lapsed but is not yet expired: a hold of the seat locks its booking row. */
async function lapsedHoldOn(showId: string, seatId: string, owner: SignedIn): Promise<string> {
  const res = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: owner.token, body: { showId, seatIds: [seatId] } });
  assert.equal(res.status, 201, res.text);
  await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE id = $1`, [res.body.id]);
  return res.body.id;
}

const statuses = (rs: HttpResult[]) => rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});

it('race: 300 clients rush 4 hot seats at once → each seat held by exactly one booking, everyone else 409', async () => {
  const show = await makeShow(t, admin);
  const hot = (await seatMap(t, show.id)).slice(0, 4);
  const results = await Promise.all(
    users.map((u) => {
      const seatIds = pick(hot, 1 + Math.floor(Math.random() * 3)).map((s) => s.id);
      return t.request<{ id: string; seats: { id: string }[]; code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds } });
    }),
  );
  const counts = statuses(results);
  assert.deepEqual(Object.keys(counts).sort(), ['201', '409'], JSON.stringify(counts));
  const won = results.filter((r) => r.status === 201);
  const heldSeats = won.flatMap((r) => r.body.seats.map((s) => s.id));
  assert.equal(new Set(heldSeats).size, heldSeats.length, 'no seat in two winning bookings');
  assert.ok(won.length >= 1 && won.length <= 4);
  const claims = await t.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`,
    [show.id],
  );
  assert.equal(claims[0]?.n, heldSeats.length);
  const map = await seatMap(t, show.id);
  assert.deepEqual(map.filter((s) => s.status === 'held').map((s) => s.id).sort(), [...heldSeats].sort());
  await assertInvariants();
});

it('race: confirm versus hold expiry → either the booking is confirmed or the seat went to someone else, never both', async () => {
  const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 40, category: 'standard' }] });
  const seats = await seatMap(t, show.id);
  const owners = users.slice(0, 40);
  const rivals = users.slice(40, 80);
  const bookings = await Promise.all(
    owners.map((u, i) => t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i] as SeatMapSeat).id] } })),
  );
  assert.ok(bookings.every((b) => b.status === 201));
  // Every hold lapses at a random instant within the next 200 ms, while its owner confirms and
  // a rival grabs the seat (80 requests at once: the server works through them meanwhile).
  await t.sql(`UPDATE bookings SET expires_at = now() + (random() * interval '200 milliseconds') WHERE show_id = $1`, [show.id]);
  const outcomes = await Promise.all(
    owners.map(async (owner, i) => {
      const seat = (seats[i] as SeatMapSeat).id;
      const booking = (bookings[i] as HttpResult<{ id: string }>).body.id;
      const rival = rivals[i] as SignedIn;
      const [confirm, steal] = await Promise.all([
        t.request<{ status?: string; code?: string }>('POST', `/api/v1/bookings/${booking}/confirm`, { token: owner.token, body: { paymentToken: 'tok_visa' } }),
        t.request<{ id: string; code?: string }>('POST', '/api/v1/bookings', { token: rival.token, body: { showId: show.id, seatIds: [seat] } }),
      ]);
      return { seat, booking, confirm, steal };
    }),
  );
  const claims = await t.sql<{ show_seat_id: string; booking_id: string }>(
    `SELECT show_seat_id, booking_id FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`,
    [show.id],
  );
  const claimOf = new Map(claims.map((c) => [c.show_seat_id, c.booking_id]));
  let confirmed = 0;
  let stolen = 0;
  for (const { seat, booking, confirm, steal } of outcomes) {
    assert.ok([200, 409].includes(confirm.status), `confirm ${confirm.status}`);
    assert.ok([201, 409].includes(steal.status), `steal ${steal.status}`);
    assert.ok(!(confirm.status === 200 && steal.status === 201), 'confirmed and resold: a double sale');
    if (confirm.status === 409) assert.equal(confirm.body.code, 'BOOKING_EXPIRED');
    // The answers agree with the rows: the seat's one active claim is the winner's.
    if (confirm.status === 200) {
      confirmed++;
      assert.equal(claimOf.get(seat), booking);
    }
    if (steal.status === 201) {
      stolen++;
      assert.equal(claimOf.get(seat), steal.body.id);
    }
  }
  assert.ok(confirmed + stolen <= 40);
  await assertInvariants();
});

it('race: 25 copies of one request with one Idempotency-Key → one booking, every answer the same', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const u = users[100] as SignedIn;
  const key = randomUUID();
  const body = { showId: show.id, seatIds: [seats[0]?.id, seats[1]?.id] };
  const results = await Promise.all(
    Array.from({ length: 25 }, () => t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body, headers: { 'Idempotency-Key': key } })),
  );
  assert.deepEqual(statuses(results), { 201: 25 });
  assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  assert.equal((await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1`, [u.id])).length, 1);
  await assertInvariants();
});

it('race: a second request with the same Idempotency-Key while the first is mid-hold → it waits for the first, then replays its booking', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const u = users[291] as SignedIn;
  const seat = (seats[0] as SeatMapSeat).id;
  // The first request will stop mid-hold: the lapsed booking on its seat is locked here.
  const lapsed = await lapsedHoldOn(show.id, seat, users[292] as SignedIn);
  const locker = await lockingClient();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE', [lapsed]);
    const key = randomUUID();
    const send = () => t.request<{ id: string; code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seat] }, headers: { 'Idempotency-Key': key } });
    const first = send();
    await provenWaiting(first, 1);
    const second = send();
    const waiting = await provenWaiting(second, 2); // the same user's hold waits for the first one's
    assert.equal(new Set(waiting.map((w) => w.pid)).size, 2);
    await locker.query('COMMIT');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await t.sql(`SELECT id FROM bookings WHERE user_id = $1`, [u.id]), [{ id: a.body.id }]);
  } finally {
    await locker.end();
  }
  await assertInvariants();
});

it('race: one user’s hold arrives while the same user’s last allowed hold is mid-hold → it waits, then gets 409 HOLD_LIMIT_REACHED', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const u = users[293] as SignedIn;
  const limit = t.config.maxPendingHoldsPerUser;
  for (let i = 0; i < limit - 1; i++) {
    const r = await t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i] as SeatMapSeat).id] } });
    assert.equal(r.status, 201, r.text);
  }
  const last = (seats[limit] as SeatMapSeat).id;
  const extra = (seats[limit + 1] as SeatMapSeat).id;
  const lapsed = await lapsedHoldOn(show.id, last, users[294] as SignedIn);
  const locker = await lockingClient();
  try {
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE', [lapsed]);
    const first = t.request<{ code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [last] } });
    await provenWaiting(first, 1);
    const second = t.request<{ code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [extra] } });
    await provenWaiting(second, 2);
    await locker.query('COMMIT');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 409, b.text);
    assert.equal(b.body.code, 'HOLD_LIMIT_REACHED');
    const live = await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1 AND status = 'pending' AND expires_at > now()`, [u.id]);
    assert.equal(live.length, limit);
  } finally {
    await locker.end();
  }
  await assertInvariants();
});

it('race: cancel-and-rebook churn on a few seats by many users → no 5xx, the map matches the claims', async () => {
  const show = await makeShow(t, admin);
  const seats = (await seatMap(t, show.id)).slice(0, 6);
  const churners = users.slice(120, 160);
  const deadline = Date.now() + 2500;
  const answers: number[] = [];
  await Promise.all(
    churners.map(async (u) => {
      while (Date.now() < deadline) {
        const seatIds = pick(seats, 1 + Math.floor(Math.random() * 2)).map((s) => s.id);
        const res = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds } });
        answers.push(res.status);
        if (res.status !== 201) continue;
        if (Math.random() < 0.5) {
          const c = await t.request('POST', `/api/v1/bookings/${res.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
          answers.push(c.status);
        }
        const x = await t.request('POST', `/api/v1/bookings/${res.body.id}/cancel`, { token: u.token });
        answers.push(x.status);
      }
    }),
  );
  assert.ok(answers.length > 100, `${answers.length} requests`);
  assert.ok(answers.every((s) => s < 500), JSON.stringify(answers.filter((s) => s >= 500)));
  assert.ok(answers.filter((s) => s === 201).length > 10);
  const map = await seatMap(t, show.id);
  const claimed = await t.sql<{ show_seat_id: string }>(
    `SELECT show_seat_id FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`,
    [show.id],
  );
  assert.deepEqual(map.filter((s) => s.status !== 'available').map((s) => s.id).sort(), claimed.map((c) => c.show_seat_id).sort());
  await assertInvariants();
});

it('race: an admin cancels a show while buyers rush it → no booking stays active on the cancelled show', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const buyers = users.slice(200, 260);
  // The cancel goes out when the tenth hold has answered, while the other fifty are in flight.
  let answered = 0;
  let inFlightAtCancel = -1;
  let fire: () => void = () => undefined;
  const tenthAnswer = new Promise<void>((resolve) => (fire = resolve));
  const holds = buyers.map((u, i) =>
    t.request<{ id: string; code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i % seats.length] as SeatMapSeat).id] } }).then((r) => {
      if (++answered === 10) {
        inFlightAtCancel = buyers.length - answered;
        fire();
      }
      return r;
    }),
  );
  const cancel = tenthAnswer.then(() => t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token }));
  const results = await Promise.all(holds);
  assert.equal((await cancel).status, 200);
  assert.ok(inFlightAtCancel > 0, 'the cancel went out mid-rush');
  assert.ok(results.every((r) => r.status < 500), JSON.stringify(results.filter((r) => r.status >= 500).map((r) => r.text)));
  assert.ok(results.every((r) => [201, 409].includes(r.status)), JSON.stringify(statuses(results)));
  const won = results.filter((r) => r.status === 201).map((r) => r.body.id);
  assert.ok(won.length >= 1, 'some holds were made before the cancel');
  const wonRows = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = ANY($1::uuid[])`, [won]);
  assert.deepEqual([...new Set(wonRows.map((r) => r.status))], ['cancelled']);
  const late = await t.request<{ code?: string }>('POST', '/api/v1/bookings', { token: (users[261] as SignedIn).token, body: { showId: show.id, seatIds: [(seats[0] as SeatMapSeat).id] } });
  assert.equal(late.status, 409);
  assert.equal(late.body.code, 'SHOW_NOT_BOOKABLE');
  const live = await t.sql(`SELECT 1 FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`, [show.id]);
  assert.equal(live.length, 0);
  await assertInvariants();
});

it('race: ten confirms of one booking at once → all 200, charged exactly once', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const u = users[280] as SignedIn;
  const hold = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seats[0]?.id] } });
  const results = await Promise.all(
    Array.from({ length: 10 }, () => t.request('POST', `/api/v1/bookings/${hold.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } })),
  );
  assert.deepEqual(statuses(results), { 200: 10 });
  const payments = await t.sql(`SELECT 1 FROM payments WHERE booking_id = $1`, [hold.body.id]);
  assert.equal(payments.length, 1);
  await assertInvariants();
});

it('race: four app instances (own pools and connections, as four server processes) sweep at once → each lapsed hold expired exactly once', async () => {
  const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 60, category: 'standard' }] });
  const seats = await seatMap(t, show.id);
  const holders = users.slice(220, 280);
  const held = await Promise.all(
    holders.map((u, i) => t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i] as SeatMapSeat).id] } })),
  );
  assert.ok(held.every((r) => r.status === 201));
  await t.app.services.bookings.sweep(10_000); // clear what earlier tests left lapsed
  // Every write that marks a booking expired is logged, so a booking expired twice shows.
  await t.sql(`CREATE TABLE test_expiry_log (booking_id uuid NOT NULL)`);
  await t.sql(`CREATE FUNCTION test_log_expiry() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO test_expiry_log VALUES (NEW.id); RETURN NULL; END $$`);
  await t.sql(`CREATE TRIGGER test_log_expiry AFTER UPDATE ON bookings FOR EACH ROW WHEN (NEW.status = 'expired') EXECUTE FUNCTION test_log_expiry()`);
  const sweepers = await Promise.all(
    Array.from({ length: 4 }, () => startTestApp({ DB_POOL_MAX: '2', DB_LOCK_TIMEOUT_MS: '20000', DB_STATEMENT_TIMEOUT_MS: '30000' }, { databaseUrl: t.databaseUrl })),
  );
  const locker = await lockingClient();
  try {
    await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE show_id = $1`, [show.id]);
    // A start line: the table lock holds all four sweeps until each waits on it, then lets them go together.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE bookings IN EXCLUSIVE MODE');
    const firstRound = Promise.all(sweepers.map((s) => s.app.services.bookings.sweep(7)));
    const waiting = await waitForLockWaiters(t, 4, (w) => w.waitEvent === 'relation');
    assert.equal(new Set(waiting.map((w) => w.pid)).size, 4, 'four connections wait at the start line');
    await locker.query('COMMIT');
    const rounds = [(await within(firstRound, 'the first sweeps')).map((r) => r.expired)];
    // Each got a batch of seven of its own: no row was handed to two sweeps.
    assert.deepEqual(rounds[0], [7, 7, 7, 7]);
    let total = 28;
    while (total < 60) {
      const round = (await Promise.all(sweepers.map((s) => s.app.services.bookings.sweep(7)))).map((r) => r.expired);
      rounds.push(round);
      const n = round.reduce((x, y) => x + y, 0);
      if (n === 0) break;
      total += n;
    }
    assert.equal(total, 60, JSON.stringify(rounds));
    const log = await t.sql<{ booking_id: string; n: number }>(`SELECT booking_id, count(*)::int AS n FROM test_expiry_log GROUP BY booking_id`);
    assert.equal(log.length, 60);
    assert.ok(log.every((r) => r.n === 1), 'no booking was expired twice');
    const left = await t.sql<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM bookings WHERE show_id = $1 GROUP BY status`, [show.id]);
    assert.deepEqual(left, [{ status: 'expired', n: 60 }]);
  } finally {
    await locker.end();
    await Promise.all(sweepers.map((s) => s.close()));
    await t.sql(`DROP TRIGGER test_log_expiry ON bookings`);
    await t.sql(`DROP FUNCTION test_log_expiry()`);
    await t.sql(`DROP TABLE test_expiry_log`);
  }
  await assertInvariants();
});

it('race: refunds claimed by a show cancel while four sweeps run → the sweeps skip them and the provider refunds each payment exactly once', async () => {
  const refunds = new Map<string, number>();
  let calls = 0;
  // The cancel's first refund stays inside the provider until the sweeps have run.
  let entered: () => void = () => undefined;
  const inProvider = new Promise<void>((resolve) => (entered = resolve));
  let letGo: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  const provider = {
    name: 'counting',
    charge: ({ bookingId }: { bookingId: string }) => Promise.resolve({ ok: true as const, reference: `ref_${bookingId}` }),
    async refund({ paymentId }: { paymentId: string }) {
      refunds.set(paymentId, (refunds.get(paymentId) ?? 0) + 1);
      if (++calls === 1) {
        entered();
        await gate;
      }
      return { ok: true };
    },
  };
  const s = await startTestApp({ MAX_PENDING_HOLDS_PER_USER: '5' }, { payments: provider });
  try {
    const a = await signUpAdmin(s);
    const buyers = await makeUsers(s, 12);
    const show = await makeShow(s, a);
    const map = await seatMap(s, show.id);
    for (const [i, u] of buyers.entries()) {
      const hold = await s.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(map[i] as SeatMapSeat).id] } });
      assert.equal((await s.request('POST', `/api/v1/bookings/${hold.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } })).status, 200);
    }
    const cancel = s.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: a.token });
    await within(inProvider, 'the cancel’s first refund to reach the provider');
    // The cancel holds its claimed payments now: four sweeps run to the end meanwhile.
    const sweeps = await within(Promise.all(Array.from({ length: 4 }, () => s.app.services.bookings.sweep())), 'the sweeps (they must not wait for the cancel)');
    assert.deepEqual(sweeps.map((r) => r.refunded), [0, 0, 0, 0], 'the sweeps skipped the payments the cancel is refunding');
    assert.equal(refunds.size, 1);
    letGo();
    assert.equal((await cancel).status, 200);
    while ((await s.sql(`SELECT 1 FROM payments WHERE status = 'refund_pending'`)).length > 0) await s.app.services.bookings.sweep();
    const rows = await s.sql<{ id: string; status: string }>(`SELECT id, status FROM payments`);
    assert.equal(rows.length, 12);
    assert.ok(rows.every((r) => r.status === 'refunded'));
    assert.deepEqual([...refunds.values()], Array.from({ length: 12 }, () => 1));
    assert.deepEqual([...refunds.keys()].sort(), rows.map((r) => r.id).sort());
  } finally {
    letGo();
    await s.close();
  }
});
