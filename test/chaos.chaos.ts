/**
 * `npm run test:chaos`: faults under a booking load, against the real server and a
 * PostgreSQL of its own (so it can be stopped): killed connections, a database restart,
 * an exhausted pool and SIGTERM. After each fault the invariants are checked in the
 * database. CHAOS_ROUNDS sets how many connection kills (default 10).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequestRaw } from 'node:http';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { makeShow, seatMap, type SeatMapSeat, type Show } from './builders.ts';
import { makeUsers, signUpAdmin, spawnServer, startTestApp, type SignedIn, type TestApp } from './helpers.ts';
import { checkInvariants } from './invariants.ts';

const ROUNDS = Number(process.env['CHAOS_ROUNDS'] ?? 10);
const figures = { faults: 0, requests: 0, answers: {} as Record<string, number>, invariantChecks: 0, violations: 0 };

let dir: string;
let port: number;
let server: EmbeddedServer;
let url: string;
let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];
let show: Show;
let seats: SeatMapSeat[];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// 80 buyers loop over one show for the whole run, buying, cancelling and re-holding random
// seats: the per-show seat cap and the re-hold cool-down (hoarding.test.ts) would turn their
// holds into 409s and starve the fault checks of successful holds.
const NO_HOARDING_LIMITS = { MAX_SEATS_PER_USER_PER_SHOW: '0', REHOLD_COOLDOWN_SECONDS: '0' };

before(async () => {
  port = await freePort();
  dir = path.resolve(import.meta.dirname, '..', '.data', 'chaos-pg', randomBytes(4).toString('hex'));
  server = await startEmbeddedPostgres({ dir, port });
  await server.createDatabaseIfMissing('chaos');
  url = server.url('chaos');
  await migrate(url);
  t = await startTestApp(
    { DB_CONNECTION_TIMEOUT_MS: '1000', DB_LOCK_TIMEOUT_MS: '1000', MAX_PENDING_HOLDS_PER_USER: '1000', HOLD_TTL_SECONDS: '600', ...NO_HOARDING_LIMITS },
    { databaseUrl: url },
  );
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 80);
  show = await makeShow(t, admin, { rows: Array.from({ length: 10 }, (_, i) => ({ label: String.fromCharCode(65 + i), seats: 20, category: 'standard' })) });
  seats = await seatMap(t, show.id);
});
after(async () => {
  console.log(
    `# chaos: faults injected ${figures.faults}, requests sent ${figures.requests}, answers ${JSON.stringify(figures.answers)}, ` +
      `invariant checks run ${figures.invariantChecks}, violations: ${figures.violations}`,
  );
  await t.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function invariants(): Promise<void> {
  const report = await checkInvariants((q) => t.sql(q));
  figures.invariantChecks += report.checks;
  figures.violations += report.violations.length;
  assert.deepEqual(report.violations, []);
}

interface Answer {
  status: number; // 0: no answer (connection error or timeout)
  ms: number;
  problem: boolean;
  retryAfter: boolean;
  startedAt: number;
}

/** One HTTP request on its own connection (no keep-alive reuse), with a hard 10 s limit. */
function call(base: string, method: string, p: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const startedAt = Date.now();
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const u = new URL(base + p);
    const req = httpRequestRaw(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        agent: false,
        timeout: 10_000,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          figures.requests++;
          figures.answers[status] = (figures.answers[status] ?? 0) + 1;
          resolve({ status, ms: Date.now() - startedAt, problem: /problem\+json/.test(res.headers['content-type'] ?? ''), retryAfter: res.headers['retry-after'] !== undefined, startedAt });
        });
      },
    );
    const fail = () => {
      figures.requests++;
      figures.answers['none'] = (figures.answers['none'] ?? 0) + 1;
      resolve({ status: 0, ms: Date.now() - startedAt, problem: false, retryAfter: false, startedAt });
    };
    req.on('timeout', () => req.destroy());
    req.on('error', fail);
    req.end(data);
  });
}

/** Buyers in loops: hold 1–2 random seats, then confirm or cancel. */
function startLoad(base: string, concurrency = 16) {
  let running = true;
  const answers: Answer[] = [];
  const loops = Array.from({ length: concurrency }, async (_, k) => {
    while (running) {
      const u = users[(k * 7 + answers.length) % users.length] as SignedIn;
      const pick = [seats[Math.floor(Math.random() * seats.length)], seats[Math.floor(Math.random() * seats.length)]].filter((s): s is SeatMapSeat => s !== undefined);
      const ids = [...new Set(pick.map((s) => s.id))];
      const hold = await call(base, 'POST', '/api/v1/bookings', u.token, { showId: show.id, seatIds: ids });
      answers.push(hold);
      if (hold.status !== 201) {
        if (hold.status === 0) await sleep(50);
        continue;
      }
      // The booking id is not needed to keep the load realistic: list, then act on the newest.
      const list = await fetch(`${base}/api/v1/bookings?status=pending&limit=1`, { headers: { authorization: `Bearer ${u.token}` } }).then(
        async (r) => (r.ok ? ((await r.json()) as { items: { id: string }[] }).items[0]?.id : undefined),
        () => undefined,
      );
      if (list === undefined) continue;
      const act = Math.random() < 0.6 ? await call(base, 'POST', `/api/v1/bookings/${list}/confirm`, u.token, { paymentToken: 'tok_visa' }) : await call(base, 'POST', `/api/v1/bookings/${list}/cancel`, u.token);
      answers.push(act);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** Every answer is a proper one: below 500, or a 503 problem with Retry-After; never a hang. */
function assertWellBehaved(answers: Answer[], allowNoAnswer = false) {
  for (const a of answers) {
    if (a.status === 0) {
      assert.ok(allowNoAnswer, 'a request got no answer');
      continue;
    }
    assert.ok(a.status < 500 || a.status === 503, `status ${a.status}`);
    if (a.status === 503) assert.ok(a.problem && a.retryAfter, '503 is problem+json with Retry-After');
    if (a.status >= 400) assert.ok(a.problem, `${a.status} is problem+json`);
    assert.ok(a.ms < 10_000, `answered in ${a.ms} ms`);
  }
}

async function holdSucceeds(base: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const free = (await seatMap(t, show.id).catch(() => [])).find((s) => s.status === 'available');
    if (free) {
      const res = await call(base, 'POST', '/api/v1/bookings', users[79]?.token, { showId: show.id, seatIds: [free.id] });
      if (res.status === 201) return;
    }
    await sleep(100);
  }
  assert.fail('no hold succeeded after the fault');
}

it(`chaos: ${ROUNDS} rounds of killing the server's database connections mid-transaction under load`, async () => {
  const load = startLoad(t.url);
  const killer = new pg.Client({ connectionString: url });
  await killer.connect();
  try {
    for (let r = 0; r < ROUNDS; r++) {
      await sleep(150 + Math.random() * 150);
      await killer.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'chaos' AND application_name = 'marquee' AND pid <> pg_backend_pid()`);
      figures.faults++;
    }
    await sleep(300);
  } finally {
    await killer.end();
  }
  const answers = await load.stop();
  assertWellBehaved(answers);
  assert.ok(answers.some((a) => a.status === 201), 'bookings went through between the faults');
  await holdSucceeds(t.url);
  await invariants();
});

it('chaos: PostgreSQL stops for 3 s and comes back → /ready 503 then 200, requests fail fast with 503, service resumes without a restart', async () => {
  const load = startLoad(t.url, 8);
  await sleep(300);
  await server.stop();
  figures.faults++;
  let sawNotReady = false;
  for (let i = 0; i < 20 && !sawNotReady; i++) {
    const r = await call(t.url, 'GET', '/ready', undefined);
    sawNotReady = r.status === 503;
    if (!sawNotReady) await sleep(100);
  }
  assert.ok(sawNotReady, '/ready turned 503');
  const during = await call(t.url, 'POST', '/api/v1/bookings', users[0]?.token, { showId: show.id, seatIds: [seats[0]?.id] });
  assert.equal(during.status, 503);
  assert.ok(during.ms < 3000, `failed fast (${during.ms} ms)`);
  await sleep(3000);
  server = await startEmbeddedPostgres({ dir, port });
  let ready = false;
  for (let i = 0; i < 100 && !ready; i++) {
    ready = (await call(t.url, 'GET', '/ready', undefined)).status === 200;
    if (!ready) await sleep(100);
  }
  assert.ok(ready, '/ready back to 200');
  await sleep(500);
  const answers = await load.stop();
  assertWellBehaved(answers);
  await holdSucceeds(t.url);
  await invariants();
});

it('chaos: an exhausted pool (2 connections, the show row locked elsewhere) → bounded waits, then 503 with Retry-After; never a hang', async () => {
  const small = await startTestApp({ DB_POOL_MAX: '2', DB_CONNECTION_TIMEOUT_MS: '300', DB_LOCK_TIMEOUT_MS: '500', ...NO_HOARDING_LIMITS }, { databaseUrl: url });
  // A show of its own: the load of the earlier rounds may have sold most of the shared one.
  const ownShow = await makeShow(t, admin, { rows: [{ label: 'A', seats: 40, category: 'standard' }] });
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  try {
    const free = (await seatMap(t, ownShow.id)).filter((s) => s.status === 'available').map((s) => s.id);
    // The seats are free and unlocked, but inserting a booking takes a key share lock on its
    // show: with the show row locked, every hold waits until lock_timeout.
    await blocker.query('BEGIN');
    await blocker.query(`SELECT id FROM shows WHERE id = $1 FOR UPDATE`, [ownShow.id]);
    figures.faults++;
    const answers = await Promise.all(users.slice(0, 30).map((u, i) => call(small.url, 'POST', '/api/v1/bookings', u.token, { showId: ownShow.id, seatIds: [free[i]] })));
    assertWellBehaved(answers);
    assert.ok(answers.every((a) => a.status === 503), JSON.stringify(answers.map((a) => a.status)));
    assert.ok(Math.max(...answers.map((a) => a.ms)) < 5000, 'bounded');
    await blocker.query('ROLLBACK');
    const after = await call(small.url, 'POST', '/api/v1/bookings', users[1]?.token, { showId: ownShow.id, seatIds: [free[30]] });
    assert.equal(after.status, 201);
  } finally {
    await blocker.end();
    await small.close();
  }
  await invariants();
});

it('chaos: SIGTERM during load → requests in flight complete, new ones are refused, the process exits 0, nothing half-done', async () => {
  const child = await spawnServer(url, NO_HOARDING_LIMITS);
  const exited = new Promise<number | null>((resolve) => child.child.on('exit', (code) => resolve(code)));
  const load = startLoad(child.url, 12);
  await sleep(800);
  const sigtermAt = Date.now();
  child.child.kill('SIGTERM');
  figures.faults++;
  const code = await exited;
  const answers = await load.stop();
  assert.equal(code, 0, child.output());
  // Requests sent well before SIGTERM were accepted: each got a proper answer.
  const accepted = answers.filter((a) => a.startedAt < sigtermAt - 100);
  assert.ok(accepted.length > 0);
  assertWellBehaved(accepted);
  // After it: refused (no answer) or turned away with 503, never anything else.
  for (const a of answers.filter((x) => x.startedAt > sigtermAt + 100)) assert.ok(a.status === 0 || a.status === 503, `after SIGTERM: ${a.status}`);
  await invariants();
});
