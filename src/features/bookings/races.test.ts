/**
 * Races through HTTP against the running server, many clients at once, then the invariants
 * checked in the database. Run repeatedly with `npm test -- races`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { makeShow, seatMap, type SeatMapSeat } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type HttpResult, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];

before(async () => {
  // Generous waits: these tests are about who wins a race, not about timeouts (the chaos
  // suite covers those), and a loaded 2-core CI machine can make lock queues long.
  t = await startTestApp({
    MAX_PENDING_HOLDS_PER_USER: '5',
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
  // Every hold lapses within the next 200 ms, while its owner confirms and a rival grabs the seat.
  await t.sql(`UPDATE bookings SET expires_at = now() + (random() * interval '200 milliseconds') WHERE show_id = $1`, [show.id]);
  const jitter = () => new Promise((r) => setTimeout(r, Math.random() * 250));
  const outcomes = await Promise.all(
    owners.map(async (owner, i) => {
      const seat = (seats[i] as SeatMapSeat).id;
      const booking = (bookings[i] as HttpResult<{ id: string }>).body.id;
      const rival = rivals[i] as SignedIn;
      const [confirm, steal] = await Promise.all([
        jitter().then(() => t.request<{ status?: string; code?: string }>('POST', `/api/v1/bookings/${booking}/confirm`, { token: owner.token, body: { paymentToken: 'tok_visa' } })),
        jitter().then(() => t.request<{ code?: string }>('POST', '/api/v1/bookings', { token: rival.token, body: { showId: show.id, seatIds: [seat] } })),
      ]);
      return { confirm, steal };
    }),
  );
  let confirmed = 0;
  let stolen = 0;
  for (const { confirm, steal } of outcomes) {
    assert.ok([200, 409].includes(confirm.status), `confirm ${confirm.status}`);
    assert.ok([201, 409].includes(steal.status), `steal ${steal.status}`);
    assert.ok(!(confirm.status === 200 && steal.status === 201), 'confirmed and resold: a double sale');
    if (confirm.status === 409) assert.equal(confirm.body.code, 'BOOKING_EXPIRED');
    if (confirm.status === 200) confirmed++;
    if (steal.status === 201) stolen++;
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
  const holds = buyers.map((u, i) =>
    new Promise((r) => setTimeout(r, Math.random() * 100)).then(() =>
      t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i % seats.length] as SeatMapSeat).id] } }),
    ),
  );
  const cancel = new Promise((r) => setTimeout(r, 40)).then(() => t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token }));
  const results = await Promise.all([...holds, cancel]);
  assert.ok(results.every((r) => r.status < 500), JSON.stringify(results.filter((r) => r.status >= 500).map((r) => r.text)));
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

it('race: expiry sweeps running at once in several processes expire each lapsed hold exactly once', async () => {
  const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 60, category: 'standard' }] });
  const seats = await seatMap(t, show.id);
  const holders = users.slice(220, 280);
  const held = await Promise.all(
    holders.map((u, i) => t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [(seats[i] as SeatMapSeat).id] } })),
  );
  assert.ok(held.every((r) => r.status === 201));
  await t.app.services.bookings.sweep(10_000); // clear what earlier tests left lapsed
  await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 second' WHERE show_id = $1`, [show.id]);
  // Four sweepers with small batches, as four server processes would run them.
  const sweeps = await Promise.all(Array.from({ length: 4 }, () => t.app.services.bookings.sweep(7)));
  let total = sweeps.reduce((n, s) => n + s.expired, 0);
  while (total < 60) {
    const more = await t.app.services.bookings.sweep(50);
    if (more.expired === 0) break;
    total += more.expired;
  }
  assert.equal(total, 60);
  const left = await t.sql(`SELECT 1 FROM bookings WHERE show_id = $1 AND status = 'pending'`, [show.id]);
  assert.equal(left.length, 0);
  await assertInvariants();
});

it('race: refunds claimed by a show cancel and four concurrent sweeps → the provider refunds each payment exactly once', async () => {
  const refunds = new Map<string, number>();
  const provider = {
    name: 'counting',
    charge: ({ bookingId }: { bookingId: string }) => Promise.resolve({ ok: true as const, reference: `ref_${bookingId}` }),
    async refund({ paymentId }: { paymentId: string }) {
      refunds.set(paymentId, (refunds.get(paymentId) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20)); // slow enough for the sweeps to overlap
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
    const [cancel] = await Promise.all([
      s.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: a.token }),
      ...Array.from({ length: 4 }, () => new Promise((r) => setTimeout(r, 5)).then(() => s.app.services.bookings.sweep())),
    ]);
    assert.equal(cancel.status, 200);
    while ((await s.sql(`SELECT 1 FROM payments WHERE status = 'refund_pending'`)).length > 0) await s.app.services.bookings.sweep();
    const rows = await s.sql<{ id: string; status: string }>(`SELECT id, status FROM payments`);
    assert.equal(rows.length, 12);
    assert.ok(rows.every((r) => r.status === 'refunded'));
    assert.deepEqual([...refunds.values()].sort(), Array.from({ length: 12 }, () => 1));
  } finally {
    await s.close();
  }
});
