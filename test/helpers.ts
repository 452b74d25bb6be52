/**
 * Each test file gets its own database, cloned from the migrated template that
 * test/run.ts prepared, and its own server listening on port 0: files run in parallel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Server } from 'node:http';
import pg from 'pg';
import { createApp, type App } from '../src/app.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import type { PaymentProvider } from '../src/features/payments/provider.ts';
import type { SeatEvent } from '../src/features/shows/seat-events.ts';
import { createLogger } from '../src/logger.ts';
import { startWebServer, stopWebServer } from '../src/server.ts';

/** An RFC 9457 problem as the API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
  unavailableSeatIds?: string[];
}

/** A page of a list endpoint. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  token?: string | undefined;
  headers?: Record<string, string>;
}

export interface TestApp {
  url: string;
  config: Config;
  db: Db;
  app: App;
  databaseUrl: string;
  /** Runs SQL straight against this file's database (for checking rows out, or planting bad ones). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  request<T = Record<string, unknown>>(method: string, path: string, opts?: RequestOptions): Promise<HttpResult<T>>;
  close(): Promise<void>;
}

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is unset: run the tests with 'npm test'`);
  return v;
}

export function databaseUrlFor(adminUrl: string, database: string): string {
  const u = new URL(adminUrl);
  u.pathname = '/' + database;
  return u.toString();
}

export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = required('TEST_ADMIN_URL');
  const template = required('TEST_TEMPLATE_DB');
  const name = `${template.replace('tpl', 't')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        break;
      } catch (err) {
        // Another file cloning the same template at this instant: wait and try again.
        if (attempt >= 20 || !(err instanceof Error) || !/being accessed by other users/.test(err.message)) throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrlFor(adminUrl, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startTestApp(
  env: Record<string, string> = {},
  opts: { logStream?: NodeJS.WritableStream; databaseUrl?: string; payments?: PaymentProvider } = {},
): Promise<TestApp> {
  const database = opts.databaseUrl !== undefined ? { url: opts.databaseUrl, drop: () => Promise.resolve() } : await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    PAYMENT_WEBHOOK_SECRET: 'whsec_test_0123456789abcdef',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    DB_POOL_MAX: '10',
    EXPIRY_SWEEP_INTERVAL_MS: '0',
    // Test files register many users from 127.0.0.1; rate-limit.test.ts turns it on.
    REGISTER_RATE_LIMIT_PER_HOUR: '0',
    ...env,
  });
  const logger = createLogger(config.logLevel, opts.logStream);
  const db = createDb(
    {
      connectionString: database.url,
      max: config.db.poolMax,
      statementTimeoutMs: config.db.statementTimeoutMs,
      lockTimeoutMs: config.db.lockTimeoutMs,
      connectionTimeoutMs: config.db.connectionTimeoutMs,
    },
    logger,
  );
  const app = createApp({ config, db, logger, ...(opts.payments ? { payments: opts.payments } : {}) });
  try {
    await app.init();
  } catch (err) {
    // A refused start (e.g. ADMIN_EMAIL of an existing customer) leaves nothing running.
    await app.close();
    await db.close();
    await database.drop();
    throw err;
  }
  const { server, url } = await startWebServer(app.handler, 0);
  const assertions = new pg.Pool({ connectionString: database.url, max: 3 });
  assertions.on('error', () => undefined); // idle clients killed by chaos tests are simply dropped

  return {
    url,
    config,
    db,
    app,
    databaseUrl: database.url,
    async sql(text, params = []) {
      const result = await assertions.query<never>(text, params);
      return result.rows;
    },
    request: (method, path, opts) => httpRequest(url, method, path, opts),
    async close() {
      await stopServer(server);
      await app.close();
      await db.close();
      await assertions.end();
      await database.drop();
    },
  };
}

async function stopServer(server: Server) {
  await stopWebServer(server, 1000);
}

export async function httpRequest<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  if (text.length > 0 && /json/.test(res.headers.get('content-type') ?? '')) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export interface SignedIn {
  id: string;
  email: string;
  token: string;
  refreshToken: string;
}

/** Registers a fresh customer through the API. */
export async function signUp(t: TestApp, overrides: { email?: string; password?: string; name?: string } = {}): Promise<SignedIn> {
  const email = overrides.email ?? `user-${randomUUID()}@example.com`;
  const res = await t.request<{ user: { id: string }; accessToken: string; refreshToken: string }>('POST', '/api/v1/auth/register', {
    body: { email, password: overrides.password ?? 'correct horse battery', name: overrides.name ?? 'Test User' },
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
  return { id: res.body.user.id, email, token: res.body.accessToken, refreshToken: res.body.refreshToken };
}

/** Makes an admin straight in the database (as ADMIN_EMAIL would) and signs in through the API. */
export async function signUpAdmin(t: TestApp): Promise<SignedIn> {
  const user = await signUp(t);
  await t.sql(`UPDATE users SET role = 'admin' WHERE id = $1`, [user.id]);
  const res = await t.request<{ accessToken: string; refreshToken: string }>('POST', '/api/v1/auth/login', {
    body: { email: user.email, password: 'correct horse battery' },
  });
  if (res.status !== 200) throw new Error(`admin sign-in failed: ${res.status} ${res.text}`);
  return { ...user, token: res.body.accessToken, refreshToken: res.body.refreshToken };
}

let cachedHash: Promise<string> | undefined;

/** Many customers at once, straight into the database (no slow hash each), with access tokens. */
export async function makeUsers(t: TestApp, n: number, role: 'customer' | 'admin' = 'customer'): Promise<SignedIn[]> {
  const { hashPassword } = await import('../src/features/auth/service.ts');
  cachedHash ??= hashPassword('correct horse battery');
  const hash = await cachedHash;
  const emails = Array.from({ length: n }, () => `bulk-${randomUUID()}@example.com`);
  const rows = await t.sql<{ id: string; email: string }>(
    `INSERT INTO users (email, name, password_hash, role) SELECT e, 'Bulk User', $2, $3 FROM unnest($1::text[]) e RETURNING id, email`,
    [emails, hash, role],
  );
  return Promise.all(
    rows.map(async (r) => ({ id: r.id, email: r.email, token: await t.app.services.tokens.signAccess({ id: r.id, role }), refreshToken: '' })),
  );
}

/** Starts src/main.ts as a real child process on a free port; resolves once it listens. */
export function spawnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; url: string; output: () => string }> {
  const root = path.resolve(import.meta.dirname, '..');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      SEED_DEMO: 'false',
      JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
      PAYMENT_WEBHOOK_SECRET: 'whsec_test_0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"http:\/\/[^:]+:(\d+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}`, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`server exited early:\n${out}`));
    });
  });
}

/**
 * Runs fn and counts the statements the app sends to the database through its pool while fn
 * runs: pool.query and queries on checked-out clients alike (a transaction's BEGIN and COMMIT
 * count too). Every client the pool hands out meanwhile has its query method wrapped, so
 * statements made with pool.connect() then client.query() are counted (bounded-query proofs).
 */
export async function countQueries<T>(t: TestApp, fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
  type Counted = { query: (...args: unknown[]) => unknown };
  let queries = 0;
  let counting = true;
  const wrapped = new Set<Counted>();
  const onAcquire = (client: pg.PoolClient) => {
    const c = client as unknown as Counted;
    if (wrapped.has(c)) return;
    const original = c.query;
    c.query = (...args: unknown[]) => {
      if (counting) queries++;
      return original.apply(c, args);
    };
    wrapped.add(c);
  };
  t.db.pool.on('acquire', onAcquire);
  try {
    const result = await fn();
    return { result, queries };
  } finally {
    counting = false;
    t.db.pool.off('acquire', onAcquire);
    for (const c of wrapped) Reflect.deleteProperty(c, 'query'); // back to pg's own method
  }
}

/**
 * Waits for a condition with a deadline: calls probe until it returns something other than
 * undefined, null or false, and resolves to that. Polls every few milliseconds, for states
 * that announce themselves nowhere but in a query (pg_locks, pg_stat_activity, counters).
 */
export async function waitUntil<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 5000): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last !== undefined && last !== null && last !== false) return last as Exclude<T, undefined | null | false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves as p does, or rejects once timeoutMs have passed: an event awaited with a deadline. */
export async function within<T>(p: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A backend of this test's database waiting for a lock, as pg_stat_activity shows it. */
export interface LockWaiter {
  pid: number;
  /** pg_stat_activity.wait_event: 'advisory', 'transactionid', 'tuple', 'relation', … */
  waitEvent: string;
  query: string;
}

/** The backends of this test's database that wait for a lock right now (other than the caller's). */
export async function lockWaiters(t: TestApp): Promise<LockWaiter[]> {
  return t.sql<LockWaiter>(
    `SELECT pid, wait_event AS "waitEvent", query FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() ORDER BY pid`,
  );
}

/** Waits (with a deadline) until at least n backends wait for a lock and pred holds for each counted one. */
export async function waitForLockWaiters(t: TestApp, n: number, pred: (w: LockWaiter) => boolean = () => true, timeoutMs = 10_000): Promise<LockWaiter[]> {
  let seen: LockWaiter[] = [];
  try {
    return await waitUntil(
      async () => {
        seen = (await lockWaiters(t)).filter(pred);
        return seen.length >= n ? seen : undefined;
      },
      `${n} lock waiter(s)`,
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; waiting now: ${JSON.stringify(seen)}`, { cause: err });
  }
}

/** The seat events of one show as this app's process receives them from the trigger's NOTIFY. */
export interface SeatEventWatch {
  events: SeatEvent[];
  /** Resolves with the first event (already received or still to come) that pred accepts. */
  waitFor(pred: (e: SeatEvent) => boolean, timeoutMs?: number): Promise<SeatEvent>;
  close(): void;
}

/**
 * Subscribes to a show's seat events on the app's hub. The hub updates the seat-map cache
 * before it calls subscribers, so once waitFor resolves the cache has seen that change.
 * Subscribe before the write you wait for.
 */
export async function watchSeatEvents(t: TestApp, showId: string): Promise<SeatEventWatch> {
  const events: SeatEvent[] = [];
  const waiters: { pred: (e: SeatEvent) => boolean; resolve: (e: SeatEvent) => void }[] = [];
  const unsubscribe = await t.app.services.hub.subscribe(showId, (e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    waitFor(pred, timeoutMs = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          pred,
          resolve: (e: SeatEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching seat event within ${timeoutMs} ms; got ${JSON.stringify(events)}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    close: unsubscribe,
  };
}

/** A predicate: the event says this seat now has this status. */
export const seatIs = (seatId: string, status: string) => (e: SeatEvent) => e.seats.some((s) => s.id === seatId && s.status === status);
