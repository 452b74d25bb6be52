/**
 * Payments outside any transaction (ADR 0013), proved through HTTP against the running
 * server with the simulated provider: its ledger counts what the provider really did (each
 * charge made, each refund), so "exactly one charge kept" is counted at the provider, not in
 * a map of the test's own. Where an interleaving matters the test holds provider calls open
 * (a gate in front of or behind the simulated provider) instead of hoping for it; the rest
 * race with 200 ms payments (PAYMENT_SIM_LATENCY_MS). Then the rows and the invariants.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { makeShow, seatMap, type SeatMapSeat } from '../../../test/builders.ts';
import { countQueries, makeUsers, signUpAdmin, startTestApp, waitUntil, within, type HttpResult, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';
import type { BookingDto } from '../bookings/schemas.ts';
import { createSimulatedProvider, type ChargeInput, type PaymentProvider, type RefundInput, type SimulatedProvider } from './provider.ts';
import * as repo from './repo.ts';
import { sign } from './webhook.ts';

const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
/** A booking, or a problem's code. */
type Answer = BookingDto & { code?: string };

/** Holds provider calls open: while closed, calls that reach it wait until release(). */
class Gate {
  private closed = false;
  private waiters: (() => void)[] = [];
  /** Calls that reached the gate so far. */
  entered = 0;
  get waiting(): number {
    return this.waiters.length;
  }
  close(): void {
    this.closed = true;
  }
  /** New calls go through; the ones already waiting keep waiting. */
  letNewPass(): void {
    this.closed = false;
  }
  release(): void {
    this.closed = false;
    for (const w of this.waiters.splice(0)) w();
  }
  async pass(): Promise<void> {
    this.entered++;
    if (this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  whenWaiting(n: number, what: string): Promise<true> {
    return waitUntil(() => this.waiting >= n, `${n} ${what} held in the provider`, 15_000);
  }
}

/**
 * The simulated provider behind gates. `charged`: the charge is made, its answer is held (a
 * slow network, or a provider that answers late); `unsent`: the call is held before it
 * reaches the provider (nothing is charged while it waits).
 */
function gatedProvider(latencyMs = 0, where: 'charged' | 'unsent' = 'charged') {
  const sim = createSimulatedProvider({ latencyMs });
  const charges = new Gate();
  const refunds = new Gate();
  const reached = new Map<string, () => void>();
  const arrivals = new Map<string, Promise<void>>();
  /** Resolves once a charge for this booking has reached the provider. */
  const chargeReached = (bookingId: string): Promise<void> => {
    let p = arrivals.get(bookingId);
    if (p === undefined) {
      p = new Promise<void>((resolve) => reached.set(bookingId, resolve));
      arrivals.set(bookingId, p);
    }
    return p;
  };
  const provider: PaymentProvider = {
    name: sim.name,
    async charge(input: ChargeInput) {
      if (where === 'unsent') await charges.pass();
      const answer = sim.charge(input);
      void chargeReached(input.bookingId);
      reached.get(input.bookingId)?.();
      const result = await answer;
      if (where === 'charged') await charges.pass();
      return result;
    },
    async refund(input: RefundInput) {
      await refunds.pass();
      return sim.refund(input);
    },
  };
  return { sim, provider, charges, refunds, chargeReached };
}

/** What the provider keeps for one booking: charges made minus charges refunded. */
function kept(sim: SimulatedProvider, bookingId: string): { charged: number; refunded: number; kept: number } {
  const mine = sim.ledger().charges.filter((c) => c.bookingId === bookingId);
  const refunded = mine.filter((c) => c.refunded).length;
  return { charged: mine.length, refunded, kept: mine.length - refunded };
}

/** The apps of the running test, closed when it ends (newest first: a second process on a database before the app that drops it). */
const apps: TestApp[] = [];
afterEach(async () => {
  for (const a of apps.splice(0).reverse()) await a.close();
});

async function start(env: Record<string, string>, payments: PaymentProvider) {
  const t = await startTestApp({ PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET, MAX_PENDING_HOLDS_PER_USER: '5', REHOLD_COOLDOWN_SECONDS: '0', ...env }, { payments });
  apps.push(t);
  const admin = await signUpAdmin(t);
  return { t, admin };
}

async function assertInvariants(t: TestApp) {
  assert.deepEqual((await checkInvariants((q) => t.sql(q))).violations, []);
}

function hold(t: TestApp, u: SignedIn, showId: string, seatIds: string[]) {
  return t.request<BookingDto & { code?: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId, seatIds } });
}
async function held(t: TestApp, u: SignedIn, showId: string, seatIds: string[]): Promise<BookingDto> {
  const res = await hold(t, u, showId, seatIds);
  assert.equal(res.status, 201, res.text);
  return res.body;
}
function confirm(t: TestApp, u: SignedIn, id: string, token = 'tok_visa') {
  return t.request<Answer>('POST', `/api/v1/bookings/${id}/confirm`, { token: u.token, body: { paymentToken: token } });
}
function cancel(t: TestApp, u: SignedIn, id: string) {
  return t.request<Answer>('POST', `/api/v1/bookings/${id}/cancel`, { token: u.token });
}
function webhook(t: TestApp, event: Record<string, unknown>) {
  const raw = JSON.stringify(event);
  return t.request<{ duplicate: boolean; outcome: string }>('POST', '/api/v1/payments/webhook', {
    rawBody: raw,
    headers: { 'marquee-signature': sign(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), raw) },
  });
}
async function paymentRows(t: TestApp, bookingId: string) {
  return t.sql<{ status: string; provider_ref: string | null; kind: string }>(
    `SELECT status, provider_ref, kind FROM payments WHERE booking_id = $1 ORDER BY created_at`,
    [bookingId],
  );
}
async function bookingStatus(t: TestApp, id: string): Promise<string | undefined> {
  return (await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE id = $1`, [id]))[0]?.status;
}
/** Runs sweeps until no refund is pending (the sweep is off in tests). */
async function settleRefunds(t: TestApp) {
  await waitUntil(
    async () => {
      await t.app.services.bookings.sweep();
      return (await t.sql(`SELECT 1 FROM payments WHERE status = 'refund_pending'`)).length === 0;
    },
    'every pending refund to be refunded',
    15_000,
  );
}
/** A pooled connection checked out right now (none should be while calls wait in the provider). */
function checkedOut(t: TestApp): number {
  return t.db.pool.totalCount - t.db.pool.idleCount;
}
const statuses = (rs: HttpResult[]) => rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});

describe('confirm outside any transaction', () => {
  it('confirm is two statements, and its answer is the booking as GET shows it; cancel is one', async () => {
    const { sim, provider } = gatedProvider();
    const { t, admin } = await start({}, provider);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const b = await held(t, u, show.id, [(seats[0] as SeatMapSeat).id]);
    const { result: res, queries } = await countQueries(t, () => confirm(t, u, b.id));
    assert.equal(res.status, 200, res.text);
    assert.equal(queries, 2, 'payment_begin, then payment_settle (which returns the booking)');
    assert.equal(res.body.status, 'confirmed');
    assert.equal(res.body.payment?.status, 'succeeded');
    const got = await t.request<BookingDto>('GET', `/api/v1/bookings/${b.id}`, { token: u.token });
    assert.deepEqual(res.body, got.body);
    const again = await countQueries(t, () => confirm(t, u, b.id));
    assert.equal(again.queries, 1, 'a confirmed booking answers from payment_begin');
    assert.deepEqual(again.result.body, got.body);
    assert.equal(kept(sim, b.id).charged, 1);

    const p = await held(t, u, show.id, [(seats[1] as SeatMapSeat).id]);
    const c = await countQueries(t, () => cancel(t, u, p.id));
    assert.equal(c.result.status, 200);
    assert.equal(c.queries, 1, 'booking_cancel returns the booking');
    assert.deepEqual(c.result.body, (await t.request<BookingDto>('GET', `/api/v1/bookings/${p.id}`, { token: u.token })).body);
    await assertInvariants(t);
  });

  it('no pooled connection is held while the provider charges: DB_POOL_MAX=2, 20 confirms of different bookings wait in the provider at once, and holds still answer', async () => {
    const { sim, provider, charges } = gatedProvider(200);
    const { t, admin } = await start({ DB_POOL_MAX: '2', DB_CONNECTION_TIMEOUT_MS: '10000' }, provider);
    const users = await makeUsers(t, 21);
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 30, category: 'standard' }] });
    const seats = await seatMap(t, show.id);
    const bookings = await Promise.all(users.slice(0, 20).map((u, i) => held(t, u, show.id, [(seats[i] as SeatMapSeat).id])));
    charges.close();
    const confirms = bookings.map((b, i) => confirm(t, users[i] as SignedIn, b.id));
    // With the connection held across the charge, at most 2 could be in the provider at once.
    await charges.whenWaiting(20, 'charges');
    assert.equal(checkedOut(t), 0, `connections checked out while 20 charges wait: ${checkedOut(t)} (pool of ${t.db.pool.totalCount})`);
    assert.equal(t.db.pool.waitingCount, 0);
    assert.ok(t.db.pool.totalCount <= 2);
    // Meanwhile the pool serves others: a hold answers.
    const other = await within(hold(t, users[20] as SignedIn, show.id, [(seats[25] as SeatMapSeat).id]), 'a hold while 20 charges wait');
    assert.equal(other.status, 201, other.text);
    charges.release();
    const results = await Promise.all(confirms);
    assert.deepEqual(statuses(results), { 200: 20 });
    assert.equal(sim.ledger().charges.length, 20);
    await assertInvariants(t);
  });

  it('double click: 10 confirms of one booking at once (200 ms payments, two server processes) → all 200, the provider charges once', async () => {
    const sim = createSimulatedProvider({ latencyMs: 200 });
    const { t, admin } = await start({}, sim);
    // A second server process on the same database and the same provider: its confirms share
    // the attempt through the database and the charge through the provider's idempotency key.
    const t2 = await startTestApp({ PAYMENT_WEBHOOK_SECRET: WEBHOOK_SECRET }, { payments: sim, databaseUrl: t.databaseUrl });
    apps.push(t2);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const b = await held(t, u, show.id, [(seats[0] as SeatMapSeat).id]);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => confirm(i % 2 === 0 ? t : t2, u, b.id)));
    assert.deepEqual(statuses(results), { 200: 10 }, JSON.stringify(results.map((r) => r.text)));
    assert.ok(results.every((r) => r.body.status === 'confirmed' && r.body.payment?.status === 'succeeded'));
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 0, kept: 1 });
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['succeeded']);
    await assertInvariants(t);
  });

  it('retry after a timeout: the first call is charged but its answer hangs past PAYMENT_TIMEOUT_MS → 503; the retry → 200; the provider keeps one charge', async () => {
    const { sim, provider, charges } = gatedProvider();
    const { t, admin } = await start({ PAYMENT_TIMEOUT_MS: '200' }, provider);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const b = await held(t, u, show.id, [(seats[0] as SeatMapSeat).id]);
    charges.close();
    const first = await confirm(t, u, b.id);
    assert.equal(first.status, 503, first.text);
    assert.ok(first.headers.get('retry-after'));
    assert.equal(charges.waiting, 1, 'the first call is still out');
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 0, kept: 1 }, 'the provider charged although its answer never came');
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['processing']);
    assert.equal(await bookingStatus(t, b.id), 'pending');
    charges.letNewPass();
    const retry = await confirm(t, u, b.id);
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.body.status, 'confirmed');
    charges.release();
    // The late answer of the first call changes nothing; nor does a sweep.
    await waitUntil(() => charges.waiting === 0, 'the first call to end');
    await t.app.services.bookings.sweep();
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 0, kept: 1 });
    const rows = await paymentRows(t, b.id);
    assert.deepEqual(rows.map((p) => p.status), ['succeeded']);
    assert.equal(rows[0]?.provider_ref, sim.ledger().charges[0]?.reference);
    await assertInvariants(t);
  });

  it('confirm racing expiry, forced: the hold lapses and the seat is resold while the charge is out → 409 BOOKING_EXPIRED, the charge refunded, the resale stands', async () => {
    const { sim, provider, charges } = gatedProvider();
    const { t, admin } = await start({}, provider);
    const [owner, rival] = (await makeUsers(t, 2)) as [SignedIn, SignedIn];
    const show = await makeShow(t, admin);
    const seat = ((await seatMap(t, show.id))[0] as SeatMapSeat).id;
    const b = await held(t, owner, show.id, [seat]);
    charges.close();
    const paying = confirm(t, owner, b.id);
    await charges.whenWaiting(1, 'charge');
    // The booking row is not locked while the provider works: these do not wait.
    await within(t.sql(`UPDATE bookings SET expires_at = now() - interval '1 hour' WHERE id = $1`, [b.id]), 'the booking row (unlocked)');
    const resale = await within(hold(t, rival, show.id, [seat]), 'the rival’s hold');
    assert.equal(resale.status, 201, resale.text);
    charges.release();
    const res = await paying;
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'BOOKING_EXPIRED');
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 1, kept: 0 });
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['refunded']);
    assert.equal(await bookingStatus(t, b.id), 'expired');
    const claim = await t.sql<{ booking_id: string }>(`SELECT booking_id FROM booking_seats WHERE show_seat_id = $1 AND booking_status IN ('pending', 'confirmed')`, [seat]);
    assert.deepEqual(claim.map((c) => c.booking_id), [resale.body.id]);
    await assertInvariants(t);
  });

  it('race: confirm versus hold expiry with 200 ms payments → each booking ends confirmed with one charge kept, or released with its charge refunded; never both', async () => {
    const sim = createSimulatedProvider({ latencyMs: 200 });
    const { t, admin } = await start({ DB_CONNECTION_TIMEOUT_MS: '30000', DB_LOCK_TIMEOUT_MS: '20000' }, sim);
    const users = await makeUsers(t, 60);
    const owners = users.slice(0, 30);
    const rivals = users.slice(30);
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 30, category: 'standard' }] });
    const seats = await seatMap(t, show.id);
    const bookings = await Promise.all(owners.map((u, i) => held(t, u, show.id, [(seats[i] as SeatMapSeat).id])));
    // Every hold lapses at a random instant in the next 400 ms: before, during or after its 200 ms charge.
    await t.sql(`UPDATE bookings SET expires_at = now() + (random() * interval '400 milliseconds') WHERE show_id = $1`, [show.id]);
    const outcomes = await Promise.all(
      owners.map(async (owner, i) => {
        const b = bookings[i] as BookingDto;
        const seat = (seats[i] as SeatMapSeat).id;
        const rival = rivals[i] as SignedIn;
        // The rival keeps trying until the hold has lapsed or the seat is sold.
        const steal = (async () => {
          for (;;) {
            const r = await hold(t, rival, show.id, [seat]);
            if (r.status !== 409 || r.body.code !== 'SEATS_UNAVAILABLE' || (await bookingStatus(t, b.id)) === 'confirmed') return r;
          }
        })();
        const [c, s] = await Promise.all([confirm(t, owner, b.id), steal]);
        return { b, seat, c, s };
      }),
    );
    await settleRefunds(t);
    let confirmed = 0;
    for (const { b, seat, c, s } of outcomes) {
      assert.ok([200, 409].includes(c.status), `confirm ${c.status} ${c.text}`);
      assert.ok([201, 409].includes(s.status), `steal ${s.status} ${s.text}`);
      assert.ok(!(c.status === 200 && s.status === 201), 'confirmed and resold');
      const status = await bookingStatus(t, b.id);
      const money = kept(sim, b.id);
      if (c.status === 200) {
        confirmed++;
        assert.equal(status, 'confirmed');
        assert.deepEqual(money, { charged: 1, refunded: 0, kept: 1 });
      } else {
        assert.equal(c.body.code, 'BOOKING_EXPIRED');
        assert.equal(status, 'expired');
        assert.equal(money.kept, 0, `booking ${b.id}: ${JSON.stringify(money)}`);
      }
      const claim = await t.sql<{ booking_id: string }>(`SELECT booking_id FROM booking_seats WHERE show_seat_id = $1 AND booking_status IN ('pending', 'confirmed')`, [seat]);
      assert.ok(claim.length <= 1);
      if (c.status === 200) assert.deepEqual(claim.map((x) => x.booking_id), [b.id]);
    }
    assert.ok(confirmed <= 30);
    await assertInvariants(t);
  });
});

describe('a webhook arriving first', () => {
  it('payment.succeeded arrives while the confirm waits for the provider → the attempt is settled by it; the confirm then answers 200; one charge kept, nothing refunded', async () => {
    const { sim, provider, charges } = gatedProvider();
    const { t, admin } = await start({}, provider);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const seat = ((await seatMap(t, show.id))[0] as SeatMapSeat).id;
    const b = await held(t, u, show.id, [seat]);
    charges.close();
    const paying = confirm(t, u, b.id);
    await charges.whenWaiting(1, 'charge');
    const hook = await within(webhook(t, { id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: b.id, amount: b.total, currency: b.currency }), 'the webhook (no lock to wait for)');
    assert.equal(hook.status, 200);
    assert.equal(hook.body.outcome, 'confirmed');
    assert.equal(await bookingStatus(t, b.id), 'confirmed');
    charges.release();
    const res = await paying;
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'confirmed');
    assert.equal(res.body.payment?.status, 'succeeded');
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 0, kept: 1 });
    const rows = await paymentRows(t, b.id);
    assert.deepEqual(rows.map((p) => [p.status, p.kind]), [['succeeded', 'charge']]);
    assert.equal(rows[0]?.provider_ref, sim.ledger().charges[0]?.reference, 'the confirm filled in the charge reference');
    await assertInvariants(t);
  });

  it('payment.succeeded arrives before any confirm → confirmed by it; the confirm answers 200 and the provider charges nothing', async () => {
    const sim = createSimulatedProvider({ latencyMs: 200 });
    const { t, admin } = await start({}, sim);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const b = await held(t, u, show.id, [((await seatMap(t, show.id))[0] as SeatMapSeat).id]);
    const hook = await webhook(t, { id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: b.id, amount: b.total, currency: b.currency });
    assert.equal(hook.body.outcome, 'confirmed');
    const res = await confirm(t, u, b.id);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'confirmed');
    assert.equal(sim.ledger().charges.length, 0);
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => [p.status, p.kind]), [['succeeded', 'webhook']]);
    await assertInvariants(t);
  });
});

describe('cancel racing confirm', () => {
  it('forced: the owner cancels while the charge is out → 200 at once, the seat is free at once; the confirm then answers 409 BOOKING_CANCELLED and the charge is refunded', async () => {
    const { sim, provider, charges } = gatedProvider();
    const { t, admin } = await start({}, provider);
    const [u, other] = (await makeUsers(t, 2)) as [SignedIn, SignedIn];
    const show = await makeShow(t, admin);
    const seat = ((await seatMap(t, show.id))[0] as SeatMapSeat).id;
    const b = await held(t, u, show.id, [seat]);
    charges.close();
    const paying = confirm(t, u, b.id);
    await charges.whenWaiting(1, 'charge');
    const c = await within(cancel(t, u, b.id), 'the cancel (no lock to wait for)');
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.status, 'cancelled');
    assert.equal(c.body.payment, null, 'an open charge attempt is no payment yet');
    const next = await within(hold(t, other, show.id, [seat]), 'a hold of the freed seat');
    assert.equal(next.status, 201, next.text);
    charges.release();
    const res = await paying;
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'BOOKING_CANCELLED');
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 1, kept: 0 });
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['refunded']);
    await assertInvariants(t);
  });

  it('race: confirm and cancel of the same bookings at once with 200 ms payments → every booking cancelled, every charge refunded, no 5xx', async () => {
    const { sim, provider, chargeReached } = gatedProvider(200);
    const { t, admin } = await start({ DB_CONNECTION_TIMEOUT_MS: '30000', DB_LOCK_TIMEOUT_MS: '20000' }, provider);
    const users = await makeUsers(t, 30);
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 30, category: 'standard' }] });
    const seats = await seatMap(t, show.id);
    const bookings = await Promise.all(users.map((u, i) => held(t, u, show.id, [(seats[i] as SeatMapSeat).id])));
    const results = await Promise.all(
      bookings.map(async (b, i) => {
        const u = users[i] as SignedIn;
        // Half cancel at once, half once the charge has reached the provider (mid-charge).
        const [c, x] = await Promise.all([confirm(t, u, b.id), i % 2 === 0 ? cancel(t, u, b.id) : chargeReached(b.id).then(() => cancel(t, u, b.id))]);
        return { b, c, x };
      }),
    );
    await settleRefunds(t);
    for (const { b, c, x } of results) {
      assert.ok([200, 409].includes(c.status), `confirm ${c.status} ${c.text}`);
      if (c.status === 409) assert.equal(c.body.code, 'BOOKING_CANCELLED');
      assert.equal(x.status, 200, x.text);
      assert.equal(await bookingStatus(t, b.id), 'cancelled');
      assert.equal(kept(sim, b.id).kept, 0, `booking ${b.id} keeps money`);
    }
    const live = await t.sql(`SELECT 1 FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')`, [show.id]);
    assert.equal(live.length, 0);
    await assertInvariants(t);
  });
});

describe('refunds outside any transaction', () => {
  it('DB_POOL_MAX=2: 20 cancels of paid bookings refund at once with no connection held while the provider works, and holds still answer', async () => {
    const { sim, provider, refunds } = gatedProvider(200);
    const { t, admin } = await start({ DB_POOL_MAX: '2', DB_CONNECTION_TIMEOUT_MS: '10000' }, provider);
    const users = await makeUsers(t, 21);
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 30, category: 'standard' }] });
    const seats = await seatMap(t, show.id);
    const bookings = await Promise.all(users.slice(0, 20).map((u, i) => held(t, u, show.id, [(seats[i] as SeatMapSeat).id])));
    assert.deepEqual(statuses(await Promise.all(bookings.map((b, i) => confirm(t, users[i] as SignedIn, b.id)))), { 200: 20 });
    refunds.close();
    const cancels = bookings.map((b, i) => cancel(t, users[i] as SignedIn, b.id));
    await refunds.whenWaiting(20, 'refunds');
    assert.equal(checkedOut(t), 0, `connections checked out while 20 refunds wait: ${checkedOut(t)}`);
    assert.equal(t.db.pool.waitingCount, 0);
    const other = await within(hold(t, users[20] as SignedIn, show.id, [(seats[25] as SeatMapSeat).id]), 'a hold while 20 refunds wait');
    assert.equal(other.status, 201, other.text);
    // The sweep meanwhile skips them: each is leased to its cancel.
    assert.equal((await t.app.services.bookings.sweep()).refunded, 0);
    refunds.release();
    const results = await Promise.all(cancels);
    assert.deepEqual(statuses(results), { 200: 20 });
    assert.ok(results.every((r) => r.body.status === 'cancelled' && r.body.payment?.status === 'refunded'));
    assert.equal(sim.ledger().refunds.length, 20);
    assert.ok(sim.ledger().charges.every((c) => c.refunded));
    await assertInvariants(t);
  });

  it('a refund pass that dies after its claim: the sweep leaves the payment while the lease lasts, then refunds it once', async () => {
    const sim = createSimulatedProvider();
    const { t, admin } = await start({}, sim);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const b = await held(t, u, show.id, [((await seatMap(t, show.id))[0] as SeatMapSeat).id]);
    assert.equal((await confirm(t, u, b.id)).status, 200);
    // Cancelled in the database (as a show cancel's transaction leaves it), then claimed by a
    // pass that never comes back.
    await t.sql(`UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [b.id]);
    await t.sql(`UPDATE payments SET status = 'refund_pending' WHERE booking_id = $1`, [b.id]);
    const claimed = await repo.claimRefunds(t.db.pool, { scope: { bookingIds: [b.id] }, limit: 10, claim: randomUUID(), leaseMs: 60_000 });
    assert.equal(claimed.length, 1);
    assert.equal((await t.app.services.bookings.sweep()).refunded, 0, 'leased to the dead pass');
    assert.equal(sim.ledger().refunds.length, 0);
    await t.sql(`UPDATE payments SET refund_lease_until = now() - interval '1 second' WHERE booking_id = $1`, [b.id]);
    assert.equal((await t.app.services.bookings.sweep()).refunded, 1);
    assert.equal((await t.app.services.bookings.sweep()).refunded, 0);
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 1, kept: 0 });
    assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['refunded']);
    await assertInvariants(t);
  });
});

describe('attempts nobody finished', () => {
  for (const where of ['charged', 'unsent'] as const) {
    it(`the confirm gave up (${where === 'charged' ? 'the provider charged, its answer never came' : 'the call had not reached the provider'}) and the hold lapsed → the sweep refunds by the attempt's key (${where === 'charged' ? 'the charge is refunded' : 'nothing to refund: recorded failed'}); the held call's late answer ${where === 'charged' ? 'changes nothing' : '(it charges after all) is settled and refunded'}`, async () => {
      const { sim, provider, charges } = gatedProvider(0, where);
      const { t, admin } = await start({ PAYMENT_TIMEOUT_MS: '200' }, provider);
      const [u] = (await makeUsers(t, 1)) as [SignedIn];
      const show = await makeShow(t, admin);
      const b = await held(t, u, show.id, [((await seatMap(t, show.id))[0] as SeatMapSeat).id]);
      charges.close();
      assert.equal((await confirm(t, u, b.id)).status, 503);
      // A retry while the hold is live would continue the attempt; nobody retries. Once the
      // attempt is stale and the hold (and its grace) lapsed, the sweep reconciles it.
      assert.equal((await t.app.services.bookings.sweep()).refunded, 0);
      assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['processing']);
      await t.sql(`UPDATE bookings SET expires_at = now() - interval '1 hour' WHERE id = $1`, [b.id]);
      await t.sql(`UPDATE payments SET updated_at = now() - interval '1 hour' WHERE booking_id = $1`, [b.id]);
      const swept = await t.app.services.bookings.sweep();
      assert.equal(swept.expired, 1);
      assert.equal(await bookingStatus(t, b.id), 'expired');
      if (where === 'charged') {
        assert.equal(swept.refunded, 1);
        assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 1, kept: 0 });
        assert.deepEqual((await paymentRows(t, b.id)).map((p) => p.status), ['refunded']);
      } else {
        assert.equal(swept.refunded, 0);
        assert.deepEqual(sim.ledger(), { charges: [], refunds: [] });
        const rows = await t.sql<{ status: string; failure_reason: string }>(`SELECT status, failure_reason FROM payments WHERE booking_id = $1`, [b.id]);
        assert.deepEqual(rows, [{ status: 'failed', failure_reason: 'not_charged' }]);
      }
      // The held call goes on at last. Charged: its late answer changes nothing. Unsent: it
      // reaches the provider only now and charges after all; the late answer is settled
      // anyway (charged_after_failure) and refunded.
      charges.release();
      await waitUntil(async () => (await paymentRows(t, b.id))[0]?.status === 'refunded', 'the payment to end refunded');
      await waitUntil(() => kept(sim, b.id).charged === 1 && kept(sim, b.id).kept === 0, 'the late charge to be refunded');
      if (where === 'unsent') {
        const [row] = await t.sql<{ failure_reason: string; provider_ref: string | null }>(`SELECT failure_reason, provider_ref FROM payments WHERE booking_id = $1`, [b.id]);
        assert.deepEqual(row, { failure_reason: 'charged_after_failure', provider_ref: sim.ledger().charges[0]?.reference });
      }
      const retry = await confirm(t, u, b.id);
      assert.equal(retry.status, 409);
      assert.equal(retry.body.code, 'BOOKING_EXPIRED');
      assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 1, kept: 0 });
      await assertInvariants(t);
    });
  }

  it('a declined attempt ends it: the next confirm is a new attempt with a new key, and a good card then charges once', async () => {
    const sim = createSimulatedProvider();
    const { t, admin } = await start({}, sim);
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const show = await makeShow(t, admin);
    const b = await held(t, u, show.id, [((await seatMap(t, show.id))[0] as SeatMapSeat).id]);
    const declined = await confirm(t, u, b.id, 'tok_declined');
    assert.equal(declined.status, 402);
    const ok = await confirm(t, u, b.id, 'tok_mastercard');
    assert.equal(ok.status, 200, ok.text);
    const keys = await t.sql<{ status: string; charge_key: string }>(`SELECT status, charge_key FROM payments WHERE booking_id = $1 ORDER BY created_at`, [b.id]);
    assert.deepEqual(keys.map((k) => k.status), ['failed', 'succeeded']);
    assert.notEqual(keys[0]?.charge_key, keys[1]?.charge_key);
    assert.deepEqual(kept(sim, b.id), { charged: 1, refunded: 0, kept: 1 });
    await assertInvariants(t);
  });
});
