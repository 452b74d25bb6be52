/**
 * Flash sale: `buyers` virtual buyers, each signed in as their own account, rush one show.
 * Each reads the seat map, holds 1–4 seats (a block in one row when it can), pays, and on
 * 409 SEATS_UNAVAILABLE tries other seats (re-reading the map with If-None-Match now and
 * then) until it has bought or the show is sold out. Run with a closed model (every buyer
 * at once) and an open one (buyers arriving at a fixed rate, the first request timed from
 * the scheduled arrival). Afterwards the database is checked: every seat sold exactly once,
 * every confirmed booking paid once, and the project's invariants.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { checkInvariants } from '../../test/invariants.ts';
import { answerKey, errorKey, HttpClient, parseJson, type HttpAnswer, type RequestOptions } from '../lib/http.ts';
import { openArrivals, randomInt, sleep, withProgress } from '../lib/load.ts';
import { describeResources, lagText, type PhaseResources } from '../lib/monitor.ts';
import type { Report } from '../lib/report.ts';
import type { BenchUser } from '../lib/seed.ts';
import { round, Samples, StatsBook, summarise, type EndpointReport, type LatencySummary } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

export const SEAT_MAP = 'GET /shows/:id/seats';
export const HOLD = 'POST /bookings';
export const CONFIRM = 'POST /bookings/:id/confirm';

interface Seat {
  id: string;
  row: string;
  number: number;
  status: string;
}

function parseSeats(body: Buffer): Seat[] | undefined {
  const v = parseJson(body);
  if (typeof v !== 'object' || v === null || !('seats' in v) || !Array.isArray(v.seats)) return undefined;
  return v.seats as Seat[];
}

function unavailableIds(body: Buffer): string[] {
  try {
    const v = parseJson(body);
    if (typeof v === 'object' && v !== null && 'unavailableSeatIds' in v && Array.isArray(v.unavailableSeatIds)) {
      return v.unavailableSeatIds.filter((x): x is string => typeof x === 'string');
    }
  } catch {
    // not JSON
  }
  return [];
}

function bookingId(body: Buffer): string | undefined {
  const v = parseJson(body);
  return typeof v === 'object' && v !== null && 'id' in v && typeof v.id === 'string' ? v.id : undefined;
}

/** A block of `want` free seats in one row around a random seat; filled up at random when the row is short. */
export function pickSeats(free: Seat[], want: number): Seat[] {
  const anchor = free[randomInt(free.length)];
  if (anchor === undefined) return [];
  const row = free.filter((s) => s.row === anchor.row).sort((a, b) => a.number - b.number);
  const i = row.indexOf(anchor);
  let lo = i;
  let hi = i;
  while (hi - lo + 1 < want && (lo > 0 || hi < row.length - 1)) {
    if (hi < row.length - 1) hi++;
    if (hi - lo + 1 < want && lo > 0) lo--;
  }
  const picked = row.slice(lo, hi + 1);
  if (picked.length < want) {
    const chosen = new Set(picked);
    const rest = free.filter((s) => !chosen.has(s));
    while (picked.length < want && rest.length > 0) picked.push(...rest.splice(randomInt(rest.length), 1));
  }
  return picked;
}

export interface FlashRun {
  config: string;
  workers: number;
  model: 'closed' | 'open';
  showId: string;
  seats: number;
  buyers: number;
  openRatePerSec: number | null;
  sellOutSeconds: number | null;
  durationSeconds: number;
  holds: { attempts: number; succeeded: number; attemptsPerSec: number; succeededPerSec: number };
  requests: number;
  requestsPerSec: number;
  answers5xx: number;
  transportErrors: number;
  endpoints: Record<string, EndpointReport>;
  outcomes: Record<string, number>;
  timeToPurchase: LatencySummary;
  scheduleLag: LatencySummary | null;
  clientSeatsConfirmed: number;
  clientSeatsConfirmedTwice: number;
  db: {
    totalSeats: number;
    seatsSold: number;
    confirmedClaims: number;
    seatsClaimedTwice: number;
    oversold: number;
    pendingClaimsLeft: number;
    confirmedBookings: number;
    confirmedPaidExactlyOnce: number;
    invariantChecks: number;
    invariantViolations: string[];
  };
  resources: PhaseResources;
}

export async function runFlash(ctx: ScenarioContext, model: 'closed' | 'open', showId: string, users: BenchUser[]): Promise<FlashRun> {
  const s = ctx.settings.flash;
  const buyers = s.buyers;
  const http = new HttpClient('127.0.0.1', ctx.server.port, { maxSockets: buyers });
  ctx.log(`flash ${model}, ${ctx.config}: opening ${buyers} keep-alive connections`);
  await http.prewarm(buyers);

  const stats = new StatsBook();
  const outcomes = new Map<string, number>();
  const outcome = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const timeToPurchase = new Samples();
  const confirmedSeats = new Map<string, number>();
  const totalSeats = s.rows * s.seatsPerRow;
  let sold = 0;
  let soldOutAt: number | undefined;
  let done = 0;
  let stopped = false;
  const t0 = performance.now();
  const deadline = t0 + s.maxSeconds * 1000;
  const stop = () => {
    if (!stopped && performance.now() > deadline) stopped = true;
    return stopped;
  };

  const call = async (name: string, method: string, path: string, opts: RequestOptions, startAt?: number): Promise<HttpAnswer | undefined> => {
    const t = startAt ?? performance.now();
    try {
      const r = await http.request(method, path, { ...opts, keepBody: true });
      stats.get(name).record(answerKey(r.status, r.status >= 400 ? r.body : undefined), performance.now() - t);
      return r;
    } catch (err) {
      stats.get(name).record(errorKey(err), performance.now() - t);
      return undefined;
    }
  };

  /** How long to wait before retrying after a 5xx or a transport error: Retry-After (with jitter) or a short backoff. */
  const backoff = (r: HttpAnswer | undefined, attempt: number): Promise<void> => {
    const header = r?.headers['retry-after'];
    const seconds = typeof header === 'string' ? Number(header) : Number.NaN;
    const base = Number.isFinite(seconds) ? seconds * 1000 : Math.min(2000, 100 * 2 ** attempt);
    return sleep(base * (0.5 + Math.random()));
  };
  const retriable = (r: HttpAnswer | undefined) => r === undefined || r.status >= 500;

  const buyer = async (i: number, scheduledAt: number | undefined): Promise<void> => {
    const user = users[i % users.length];
    if (user === undefined) return;
    const auth = { authorization: `Bearer ${user.token}` };
    const want = 1 + randomInt(s.maxSeatsPerBuyer);
    const arrived = scheduledAt ?? performance.now();
    let firstStart = scheduledAt;
    let seats: Seat[] = [];
    let etag: string | undefined;
    const taken = new Set<string>();
    let mustRead = true;
    let misses = 0;
    let attempts = 0;
    let failures = 0;
    const free = () => seats.filter((x) => x.status === 'available' && !taken.has(x.id));
    try {
      while (!stop()) {
        if (mustRead) {
          const r = await call(SEAT_MAP, 'GET', `/api/v1/shows/${showId}/seats`, { headers: etag === undefined ? {} : { 'if-none-match': etag } }, firstStart);
          firstStart = undefined;
          if (r?.status === 200) {
            seats = parseSeats(r.body) ?? [];
            etag = typeof r.headers.etag === 'string' ? r.headers.etag : undefined;
            taken.clear();
          } else if (r?.status !== 304) {
            if (++failures >= s.maxAttemptsPerBuyer) break;
            await backoff(r, failures);
            continue;
          }
          mustRead = false;
          misses = 0;
          if (free().length === 0) {
            outcome(seats.some((x) => x.status === 'held') ? 'left: no free seat (some still held)' : 'left: sold out');
            return;
          }
        }
        const available = free();
        if (available.length === 0) {
          mustRead = true;
          continue;
        }
        const pick = pickSeats(available, want);
        attempts++;
        // One Idempotency-Key per hold attempt: a retry after a 5xx or a lost answer can
        // never hold twice, and gets the booking back if the first try did go through.
        const key = randomUUID();
        let h: HttpAnswer | undefined;
        for (let retry = 0; ; retry++) {
          h = await call(HOLD, 'POST', '/api/v1/bookings', { headers: { ...auth, 'idempotency-key': key }, json: { showId, seatIds: pick.map((x) => x.id) } });
          if (!retriable(h) || retry >= 5 || stop()) break;
          await backoff(h, retry);
        }
        if (h?.status === 201) {
          const id = bookingId(h.body);
          for (let retry = 0; id !== undefined && !stop(); retry++) {
            const r = await call(CONFIRM, 'POST', `/api/v1/bookings/${id}/confirm`, { headers: auth, json: { paymentToken: 'tok_visa' } });
            if (r?.status === 200) {
              for (const x of pick) confirmedSeats.set(x.id, (confirmedSeats.get(x.id) ?? 0) + 1);
              sold += pick.length;
              if (sold >= totalSeats) soldOutAt ??= performance.now();
              timeToPurchase.add(performance.now() - arrived);
              outcome('bought');
              return;
            }
            if (!retriable(r) || retry >= 8) break;
            await backoff(r, retry);
          }
          outcome('failed: confirm');
          return;
        }
        if (h?.status === 409 && answerKey(409, h.body) === '409 SEATS_UNAVAILABLE') {
          const ids = unavailableIds(h.body);
          for (const id of ids) taken.add(id);
          if (ids.length === 0 || ++misses >= 3) mustRead = true;
        } else {
          mustRead = true;
          await backoff(h, ++failures);
        }
        if (attempts >= s.maxAttemptsPerBuyer || failures >= s.maxAttemptsPerBuyer) {
          outcome('gave up: too many attempts');
          return;
        }
      }
      outcome('stopped: time limit');
    } finally {
      done++;
    }
  };

  const monitor = ctx.monitor();
  monitor.start();
  let lag: Samples | undefined;
  const label = `flash ${model} ${ctx.config}`;
  const status = () => `sold ${sold}/${totalSeats}  buyers done ${done}/${buyers}  requests ${stats.total()}  5xx ${stats.count('5')}`;
  if (model === 'closed') {
    await withProgress(label, status, () => Promise.all(Array.from({ length: buyers }, (_, i) => buyer(i, undefined))));
  } else {
    const r = await withProgress(label, status, () => openArrivals({ ratePerSec: s.openRatePerSec, count: buyers, session: buyer, stop }));
    lag = r.lag;
  }
  const end = performance.now();
  const resources = monitor.stop();
  http.close();

  const sellOutSeconds = soldOutAt === undefined ? null : (soldOutAt - t0) / 1000;
  const durationSeconds = (end - t0) / 1000;
  const window = sellOutSeconds ?? durationSeconds;
  const holdStats = stats.get(HOLD);
  const attempts = holdStats.latency.count;
  const succeeded = holdStats.answers.get('201') ?? 0;

  const db = await checkShow(ctx, showId);
  let twice = 0;
  for (const n of confirmedSeats.values()) if (n > 1) twice += n - 1;
  const run: FlashRun = {
    config: ctx.config,
    workers: ctx.server.workers,
    model,
    showId,
    seats: totalSeats,
    buyers,
    openRatePerSec: model === 'open' ? s.openRatePerSec : null,
    sellOutSeconds: sellOutSeconds === null ? null : round(sellOutSeconds, 3),
    durationSeconds: round(durationSeconds, 3),
    holds: { attempts, succeeded, attemptsPerSec: round(attempts / window, 1), succeededPerSec: round(succeeded / window, 1) },
    requests: stats.total(),
    requestsPerSec: round(stats.total() / durationSeconds, 1),
    answers5xx: stats.count('5'),
    transportErrors: stats.count('ERR'),
    endpoints: stats.toJSON(),
    outcomes: Object.fromEntries(outcomes),
    timeToPurchase: summarise(timeToPurchase),
    scheduleLag: lag === undefined ? null : summarise(lag),
    clientSeatsConfirmed: sold,
    clientSeatsConfirmedTwice: twice,
    db,
    resources,
  };
  ctx.log(
    `flash ${model}, ${ctx.config}: sold out in ${sellOutSeconds?.toFixed(2) ?? 'never'} s, ${run.holds.succeededPerSec} holds/s, ` +
      `hold p99 ${run.endpoints[HOLD]?.latency.p99Ms ?? 'n/a'} ms, db sold ${db.seatsSold}/${db.totalSeats}, oversold ${db.oversold}`,
  );
  ctx.log(`  ${describeResources(resources)}`);
  return run;
}

async function checkShow(ctx: ScenarioContext, showId: string): Promise<FlashRun['db']> {
  const q = async <R extends Record<string, unknown>>(text: string): Promise<R> => {
    const { rows } = await ctx.db.pool.query<R>(text, [showId]);
    return rows[0] as R;
  };
  const claims = await q<{ confirmed: number; distinct_confirmed: number; pending: number; total: number }>(
    `SELECT count(*) FILTER (WHERE booking_status = 'confirmed')::int AS confirmed,
            count(DISTINCT show_seat_id) FILTER (WHERE booking_status = 'confirmed')::int AS distinct_confirmed,
            count(*) FILTER (WHERE booking_status = 'pending')::int AS pending,
            (SELECT total_seats FROM shows WHERE id = $1) AS total
       FROM booking_seats WHERE show_id = $1`,
  );
  const twice = await q<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
       SELECT show_seat_id FROM booking_seats WHERE show_id = $1 AND booking_status IN ('pending', 'confirmed')
        GROUP BY show_seat_id HAVING count(*) > 1) d`,
  );
  const paid = await q<{ confirmed: number; once: number }>(
    `SELECT count(*)::int AS confirmed, count(*) FILTER (WHERE paid = 1)::int AS once FROM (
       SELECT (SELECT count(*) FROM payments p WHERE p.booking_id = b.id AND p.status = 'succeeded') AS paid
         FROM bookings b WHERE b.show_id = $1 AND b.status = 'confirmed') x`,
  );
  const inv = await checkInvariants(async (text) => (await ctx.db.pool.query<Record<string, unknown>>(text)).rows);
  return {
    totalSeats: claims.total,
    seatsSold: claims.distinct_confirmed,
    confirmedClaims: claims.confirmed,
    seatsClaimedTwice: twice.n,
    oversold: Math.max(0, claims.confirmed - claims.total) + twice.n,
    pendingClaimsLeft: claims.pending,
    confirmedBookings: paid.confirmed,
    confirmedPaidExactlyOnce: paid.once,
    invariantChecks: inv.checks,
    invariantViolations: inv.violations.slice(0, 50),
  };
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : String(v));

export function reportFlash(report: Report, run: FlashRun): void {
  const sc = `flash/${run.model}`;
  const cfg = run.config;
  const hold = run.endpoints[HOLD];
  report.add({ scenario: sc, config: cfg, metric: 'buyers / seats', value: `${run.buyers} / ${run.seats}${run.openRatePerSec === null ? ' (all at once)' : ` (${run.openRatePerSec} arrivals/s)`}` });
  report.add({ scenario: sc, config: cfg, metric: 'sell-out time', value: run.sellOutSeconds === null ? 'not sold out' : `${run.sellOutSeconds.toFixed(2)} s` });
  report.add({ scenario: sc, config: cfg, metric: 'holds/s (201) until sell-out', value: `${run.holds.succeededPerSec} (attempts ${run.holds.attemptsPerSec}/s)` });
  for (const [name, e] of Object.entries(run.endpoints)) {
    report.add({ scenario: sc, config: cfg, metric: `${name} p50/p95/p99`, value: `${ms(e.latency.p50Ms)} / ${ms(e.latency.p95Ms)} / ${ms(e.latency.p99Ms)} ms` });
    report.add({ scenario: sc, config: cfg, metric: `${name} answers`, value: Object.entries(e.answers).map(([k, v]) => `${k}: ${v}`).join(', ') });
  }
  report.add({ scenario: sc, config: cfg, metric: 'time to purchase p50/p99', value: `${ms(run.timeToPurchase.p50Ms)} / ${ms(run.timeToPurchase.p99Ms)} ms (${run.timeToPurchase.count} buyers)` });
  if (run.scheduleLag !== null) report.add({ scenario: sc, config: cfg, metric: 'arrival schedule lag p99', value: `${run.scheduleLag.p99Ms} ms` });
  report.add({ scenario: sc, config: cfg, metric: 'buyer outcomes', value: Object.entries(run.outcomes).map(([k, v]) => `${k}: ${v}`).join(', ') });
  report.add({ scenario: sc, config: cfg, metric: 'cpu (% of machine)', value: Object.entries(run.resources.cpu).map(([k, v]) => `${k} ${v}`).join(', ') });
  report.add({ scenario: sc, config: cfg, metric: 'pg backends (avg)', value: Object.entries(run.resources.pgBackends).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ') });
  if (run.resources.pool !== undefined) {
    report.add({ scenario: sc, config: cfg, metric: 'server pool in use / waiting (avg); event-loop delay p99', value: `${run.resources.pool.avgInUse} / ${run.resources.pool.avgWaiting} (max waiting ${run.resources.pool.maxWaiting})${lagText(run.resources.pool.eventLoopLagP99Ms)}` });
  }
  report.check(sc, cfg, 'seats sold (db)', run.db.seatsSold, '', { op: '==', limit: run.db.totalSeats });
  report.add({ scenario: sc, config: cfg, metric: 'seats still held after the sale (db)', value: `${run.db.pendingClaimsLeft} (holds nobody could confirm)` });
  report.check(sc, cfg, 'seats oversold (db)', run.db.oversold + run.clientSeatsConfirmedTwice, '', { op: '==', limit: 0 });
  report.check(sc, cfg, 'confirmed bookings not paid exactly once', run.db.confirmedBookings - run.db.confirmedPaidExactlyOnce, '', { op: '==', limit: 0 });
  report.check(sc, cfg, 'invariant violations (db)', run.db.invariantViolations.length, '', { op: '==', limit: 0 });
  report.check(sc, cfg, '5xx answers', run.answers5xx, '', { op: '==', limit: 0 });
  report.check(sc, cfg, 'hold p99 latency', hold?.latency.p99Ms ?? Number.NaN, ' ms', { op: '<', limit: 250 });
}
