import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { signUp, startTestApp, type HttpResult, type TestApp } from '../../../test/helpers.ts';

// One database for the file; each scenario gets its own app (its own in-memory counters)
// on that database, configured as the scenario needs.
let t: TestApp;
before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
});
after(async () => {
  await t.close();
});

async function withApp(env: Record<string, string>, fn: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startTestApp(env, { databaseUrl: t.databaseUrl });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

function login(app: TestApp, email: string, password: string, forwardedFor?: string): Promise<HttpResult<{ code?: string }>> {
  return app.request<{ code?: string }>('POST', '/api/v1/auth/login', {
    body: { email, password },
    ...(forwardedFor !== undefined ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
  });
}

function register(app: TestApp, forwardedFor?: string): Promise<HttpResult<{ code?: string }>> {
  return app.request<{ code?: string }>('POST', '/api/v1/auth/register', {
    body: { email: `reg-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Reg' },
    ...(forwardedFor !== undefined ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
  });
}

function assertRateLimited(res: HttpResult<{ code?: string }>, maxRetryAfter: number, what: string): void {
  assert.equal(res.status, 429, what);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, what);
  assert.equal(res.body.code, 'RATE_LIMITED', what);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter, `${what}: Retry-After ${res.headers.get('retry-after')}`);
}

it('login: failures past AUTH_RATE_LIMIT_PER_MINUTE for one account → 429 RATE_LIMITED with Retry-After', async () => {
  const u = await signUp(t, { password: 'the right one' });
  const ok = await login(t, u.email, 'the right one');
  assert.equal(ok.status, 200, 'successful logins do not count');
  for (let i = 0; i < 3; i++) assert.equal((await login(t, u.email, 'wrong')).status, 401);
  assertRateLimited(await login(t, u.email, 'the right one'), 60, 'the right password while limited');
  // The account key is the normalised email: case and spaces do not make a new account.
  assertRateLimited(await login(t, `  ${u.email.toUpperCase()} `, 'wrong'), 60, 'the same email, differently written');

  // Another account from the same address is counted apart (the address allows 10 × 3).
  const other = await signUp(t, { password: 'other password' });
  assert.equal((await login(t, other.email, 'other password')).status, 200);
});

it('login: 30 different emails from one address, one failure each → the per-address limit (10 × the setting) answers 429 from the 21st', async () => {
  await withApp({ AUTH_RATE_LIMIT_PER_MINUTE: '2' }, async (app) => {
    const statuses: number[] = [];
    let last: HttpResult<{ code?: string }> | undefined;
    for (let i = 0; i < 30; i++) {
      last = await login(app, `guess-${i}-${randomUUID()}@example.com`, 'Password1!');
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [...Array<number>(20).fill(401), ...Array<number>(10).fill(429)]);
    assert.ok(last !== undefined);
    assertRateLimited(last, 60, 'the 30th guess');
    // A real account from the same address is blocked too for the rest of the minute.
    const u = await signUp(app, { password: 'the right one' });
    assertRateLimited(await login(app, u.email, 'the right one'), 60, 'a real sign-in from the limited address');
  });
});

it('login: one email from 13 addresses (TRUST_PROXY=1, X-Forwarded-For) → the per-account limit answers 429 from the 11th address on', async () => {
  await withApp({ AUTH_RATE_LIMIT_PER_MINUTE: '10', TRUST_PROXY: '1' }, async (app) => {
    const u = await signUp(app, { password: 'the right one' });
    const statuses: number[] = [];
    for (let i = 1; i <= 13; i++) statuses.push((await login(app, u.email, 'wrong guess', `203.0.113.${i}`)).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429, 429]);
    assertRateLimited(await login(app, u.email, 'wrong guess', '198.51.100.7'), 60, 'a fresh address');

    // The hop count is honoured: those were 13 addresses, each still far from its own limit.
    const other = await signUp(app, { password: 'other password' });
    assert.equal((await login(app, other.email, 'other password', '203.0.113.1')).status, 200);
  });
});

it('login: TRUST_PROXY unset, a spoofed X-Forwarded-For on every try → the socket address is counted and limited all the same', async () => {
  await withApp({ AUTH_RATE_LIMIT_PER_MINUTE: '1' }, async (app) => {
    const statuses: number[] = [];
    for (let i = 1; i <= 12; i++) statuses.push((await login(app, `spoof-${i}-${randomUUID()}@example.com`, 'Password1!', `198.51.100.${i}`)).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(401), 429, 429], 'ten per address (10 × 1), whatever the header says');
  });
});

it('login: AUTH_RATE_LIMIT_PER_MINUTE=0 → neither limit: 12 failures for one account and 12 more accounts from one address all answer 401', async () => {
  await withApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0' }, async (app) => {
    const u = await signUp(app, { password: 'the right one' });
    for (let i = 0; i < 12; i++) assert.equal((await login(app, u.email, 'wrong')).status, 401);
    for (let i = 0; i < 12; i++) assert.equal((await login(app, `nobody-${i}-${randomUUID()}@example.com`, 'wrong')).status, 401);
    assert.equal((await login(app, u.email, 'the right one')).status, 200);
  });
});

it('register: more than REGISTER_RATE_LIMIT_PER_HOUR from one address → 429 RATE_LIMITED with Retry-After, nothing stored; another address is counted apart', async () => {
  await withApp({ REGISTER_RATE_LIMIT_PER_HOUR: '3', TRUST_PROXY: '1' }, async (app) => {
    for (let i = 0; i < 3; i++) assert.equal((await register(app, '203.0.113.50')).status, 201);
    const before = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
    const limited = await register(app, '203.0.113.50');
    assertRateLimited(limited, 3600, 'the 4th registration');
    assert.ok(Number(limited.headers.get('retry-after')) > 3000, 'the window is an hour');
    const afterwards = await app.sql<{ n: number }>(`SELECT count(*)::int AS n FROM users`);
    assert.equal(afterwards[0]?.n, before[0]?.n, 'no account made past the limit');
    assert.equal((await register(app, '203.0.113.51')).status, 201, 'another address');
  });
});

it('register: REGISTER_RATE_LIMIT_PER_HOUR=0 → 25 registrations from one address all answer 201', async () => {
  await withApp({ REGISTER_RATE_LIMIT_PER_HOUR: '0' }, async (app) => {
    for (let i = 0; i < 25; i++) assert.equal((await register(app)).status, 201, `registration ${i + 1}`);
  });
});

it('register: the default (unset) limit is on and counts per address → the 21st registration from one address answers 429', async () => {
  const env: Record<string, string> = { REGISTER_RATE_LIMIT_PER_HOUR: '' }; // '' = unset: the default 20
  await withApp(env, async (app) => {
    for (let i = 0; i < 20; i++) assert.equal((await register(app)).status, 201, `registration ${i + 1}`);
    assertRateLimited(await register(app), 3600, 'the 21st registration');
  });
});

it('openapi: register and login document 429 RATE_LIMITED with Retry-After', async () => {
  const doc = await t.request<{ paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> }>('GET', '/openapi.json');
  for (const path of ['/api/v1/auth/register', '/api/v1/auth/login']) {
    const tooMany = doc.body.paths[path]?.['post']?.responses['429']?.description ?? '';
    assert.match(tooMany, /RATE_LIMITED.*Retry-After/, path);
  }
});
