/**
 * ADMIN_EMAIL at start-up: never a silent promotion of someone else's account; an admin
 * whose password matches keeps their sessions; a new password or a promotion ends them;
 * processes starting at once take turns.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { ConfigError } from '../../config.ts';
import { createTestDatabase, signUp, startTestApp, type TestApp } from '../../../test/helpers.ts';

interface AuthBody {
  user: { id: string; role: string };
  accessToken: string;
  refreshToken: string;
}

let t: TestApp;

before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0' });
});
after(async () => {
  await t.close();
});

/**
 * Runs src/main.ts against databaseUrl until it exits; one that starts listening instead is
 * stopped (SIGTERM) and reported as started. Fails after a deadline.
 */
function runMain(databaseUrl: string, env: Record<string, string>): Promise<{ code: number | null; started: boolean; output: string }> {
  const root = path.resolve(import.meta.dirname, '../../..');
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
      EXPIRY_SWEEP_INTERVAL_MS: '0',
      JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
      PAYMENT_WEBHOOK_SECRET: 'whsec_test_0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts neither exited nor started within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!started && /Marquee is listening/.test(output)) {
        started = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, started, output });
    });
  });
}

const login = (app: TestApp, email: string, password: string) => app.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email, password } });
const refresh = (app: TestApp, refreshToken: string) => app.request<AuthBody>('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
const roleOf = async (email: string) => (await t.sql<{ role: string }>(`SELECT role FROM users WHERE email = $1`, [email]))[0]?.role;

it('start-up: ADMIN_EMAIL of an existing customer → main.ts exits non-zero naming ADMIN_PROMOTE_EXISTING; still a customer whose sign-in works', async () => {
  const u = await signUp(t, { email: 'first-comer@example.com', password: 'customer password' });
  const run = await runMain(t.databaseUrl, { ADMIN_EMAIL: 'First-Comer@example.com', ADMIN_PASSWORD: 'operator password' });
  assert.equal(run.started, false, run.output);
  assert.notEqual(run.code, 0);
  assert.match(run.output, /first-comer@example\.com/);
  assert.match(run.output, /ADMIN_PROMOTE_EXISTING=true/);
  assert.equal(await roleOf(u.email), 'customer');
  assert.equal((await refresh(t, u.refreshToken)).status, 200, 'their refresh token still works');
  assert.equal((await login(t, u.email, 'operator password')).status, 401, 'the operator password was not set');
});

it('start-up with WORKERS=2: every worker refuses → the server exits non-zero instead of restarting workers forever', async () => {
  await signUp(t, { email: 'first-comer-2@example.com' });
  const run = await runMain(t.databaseUrl, { ADMIN_EMAIL: 'first-comer-2@example.com', ADMIN_PASSWORD: 'operator password', WORKERS: '2' });
  assert.equal(run.started, false, run.output);
  assert.notEqual(run.code, 0);
  assert.match(run.output, /ADMIN_PROMOTE_EXISTING=true/);
  assert.equal(await roleOf('first-comer-2@example.com'), 'customer');
});

it('start-up with ADMIN_PROMOTE_EXISTING=true: the customer becomes admin; their old access and refresh tokens → 401', async () => {
  const u = await signUp(t, { email: 'promote-me@example.com', password: 'customer password' });
  const other = await startTestApp(
    { ADMIN_EMAIL: 'promote-me@example.com', ADMIN_PASSWORD: 'operator password', ADMIN_PROMOTE_EXISTING: 'true' },
    { databaseUrl: t.databaseUrl },
  );
  await other.close();
  assert.equal(await roleOf(u.email), 'admin');
  assert.equal((await t.request('GET', '/api/v1/me', { token: u.token })).status, 401, 'old access token');
  assert.equal((await refresh(t, u.refreshToken)).status, 401, 'old refresh token');
  assert.equal((await login(t, u.email, 'customer password')).status, 401, 'old password');
  const signedIn = await login(t, u.email, 'operator password');
  assert.equal(signedIn.body.user.role, 'admin');
});

it('start-up without ADMIN_PROMOTE_EXISTING, in process: init() rejects with a ConfigError and changes nothing', async () => {
  const u = await signUp(t, { email: 'staff-member@example.com' });
  await t.sql(`UPDATE users SET role = 'staff' WHERE id = $1`, [u.id]);
  await assert.rejects(
    startTestApp({ ADMIN_EMAIL: 'staff-member@example.com', ADMIN_PASSWORD: 'operator password' }, { databaseUrl: t.databaseUrl }),
    (err: unknown) => err instanceof ConfigError && /existing staff account/.test(err.message),
  );
  assert.equal(await roleOf(u.email), 'staff');
});

it('restart with the same ADMIN_PASSWORD: the admin’s access and refresh tokens keep working; a new ADMIN_PASSWORD ends them', async () => {
  const env = { ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'first password' };
  await (await startTestApp(env, { databaseUrl: t.databaseUrl })).close();
  const session = await login(t, 'boss@example.com', 'first password');
  assert.equal(session.body.user.role, 'admin');
  const [before] = await t.sql<{ password_hash: string; token_version: number }>(`SELECT password_hash, token_version FROM users WHERE email = 'boss@example.com'`);

  await (await startTestApp(env, { databaseUrl: t.databaseUrl })).close(); // a restart
  const [same] = await t.sql<{ password_hash: string; token_version: number }>(`SELECT password_hash, token_version FROM users WHERE email = 'boss@example.com'`);
  assert.deepEqual(same, before, 'hash and token version untouched');
  assert.equal((await t.request('GET', '/api/v1/me', { token: session.body.accessToken })).status, 200);
  const rotated = await refresh(t, session.body.refreshToken);
  assert.equal(rotated.status, 200);

  await (await startTestApp({ ...env, ADMIN_PASSWORD: 'second password' }, { databaseUrl: t.databaseUrl })).close();
  assert.equal((await t.request('GET', '/api/v1/me', { token: rotated.body.accessToken })).status, 401);
  assert.equal((await refresh(t, rotated.body.refreshToken)).status, 401);
  assert.equal((await login(t, 'boss@example.com', 'first password')).status, 401);
  assert.equal((await login(t, 'boss@example.com', 'second password')).body.user.role, 'admin');
});

it('four processes starting at once with a new ADMIN_EMAIL → all start, one admin row', async () => {
  const database = await createTestDatabase();
  const env = { ADMIN_EMAIL: 'racing-admin@example.com', ADMIN_PASSWORD: 'race password' };
  const apps: TestApp[] = [];
  try {
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => startTestApp(env, { databaseUrl: database.url })));
    for (const r of results) if (r.status === 'fulfilled') apps.push(r.value);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'], String(results.find((r) => r.status === 'rejected')?.reason));
    const rows = await (apps[0] as TestApp).sql<{ role: string }>(`SELECT role FROM users WHERE email = 'racing-admin@example.com'`);
    assert.deepEqual(rows, [{ role: 'admin' }]);
  } finally {
    for (const a of apps) await a.close();
    await database.drop();
  }
});
