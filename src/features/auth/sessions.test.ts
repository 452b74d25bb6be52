/**
 * Access tokens end when their sign-in ends: required claims, token versions, revoked
 * sign-ins, roles read from the database (through the per-process session cache), across
 * processes and with the LISTEN connection down.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, type JWTPayload } from 'jose';
import { countQueries, makeUsers, signUp, signUpAdmin, startTestApp, type Problem, type SignedIn, type TestApp } from '../../../test/helpers.ts';

interface AuthBody {
  user: { id: string; role: string };
  accessToken: string;
  refreshToken: string;
}

const SECRET = new TextEncoder().encode('test-secret-that-is-long-enough-0123456789');
let t: TestApp;
let admin: SignedIn;

before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0' });
  await t.app.services.sessions.ready();
  admin = await signUpAdmin(t);
});
after(async () => {
  await t.close();
});

/** An admin-only read without side effects: an admin gets 404 (no such show), anyone else 403, a dead token 401. */
const adminRead = (app: TestApp, token: string) => app.request<Problem>('GET', `/api/v1/shows/${randomUUID()}/bookings`, { token });

/** Resolves when app's session cache drops userId's entry (or everything), or fails after a deadline. */
function invalidation(app: TestApp, userId: string | null, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no invalidation of ${what} within 5 s`));
    }, 5000);
    const stop = app.app.services.sessions.onInvalidated((id) => {
      if (id === userId || id === null) {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
  });
}

/** Resolves once app's LISTEN connection is up (it clears the cache when it comes back), or fails after a deadline. */
async function untilListening(app: TestApp): Promise<void> {
  const sessions = app.app.services.sessions;
  const deadline = Date.now() + 5000;
  while (!sessions.listening()) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error('the LISTEN connection did not come back within 5 s'));
      }, Math.max(0, deadline - Date.now()));
      const done = () => {
        clearTimeout(timer);
        stop();
        resolve();
      };
      const stop = sessions.onInvalidated((id) => {
        if (id === null) done();
      });
      if (sessions.listening()) done();
    });
  }
}

/** A token signed with the real key, with exactly the claims given. */
async function signed(claims: JWTPayload, opts: { sub?: string; iat?: boolean; exp?: boolean }): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer('marquee').setAudience('marquee-api');
  if (opts.sub !== undefined) jwt = jwt.setSubject(opts.sub);
  if (opts.iat !== false) jwt = jwt.setIssuedAt();
  if (opts.exp !== false) jwt = jwt.setExpirationTime('10m');
  return jwt.sign(SECRET);
}

describe('required claims', () => {
  it('access token: validly signed but without exp, iat or sub → 401; the same token with all three → 200', async () => {
    const u = await signUp(t);
    const claims = { role: 'customer', ver: 0, sid: randomUUID() };
    assert.equal((await t.request('GET', '/api/v1/me', { token: await signed(claims, { sub: u.id }) })).status, 200, 'control');
    for (const [missing, token] of [
      ['exp', await signed(claims, { sub: u.id, exp: false })],
      ['iat', await signed(claims, { sub: u.id, iat: false })],
      ['sub', await signed(claims, {})],
    ] as const) {
      const res = await t.request<Problem>('GET', '/api/v1/me', { token });
      assert.equal(res.status, 401, `without ${missing}`);
      assert.equal(res.body.code, 'UNAUTHENTICATED');
    }
  });

  it('access token: role claim admin on a customer’s token → 403 on an admin endpoint (the role comes from the database)', async () => {
    const [u] = (await makeUsers(t, 1)) as [SignedIn];
    const token = await t.app.services.tokens.signAccess({ id: u.id, role: 'admin' });
    assert.equal((await adminRead(t, token)).status, 403);
  });
});

describe('ended sessions', () => {
  it('demotion through PATCH /users/:id: the old admin token is refused at once; a new sign-in is a customer (403)', async () => {
    const target = await signUpAdmin(t);
    assert.equal((await adminRead(t, target.token)).status, 404, 'admin before');
    const res = await t.request<{ id: string; role: string }>('PATCH', `/api/v1/users/${target.id}`, { token: admin.token, body: { role: 'customer' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.role, 'customer');
    assert.equal((await adminRead(t, target.token)).status, 401, 'old access token refused');
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: target.refreshToken } })).status, 401, 'refresh token revoked');
    const again = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: target.email, password: 'correct horse battery' } });
    assert.equal(again.body.user.role, 'customer');
    assert.equal((await adminRead(t, again.body.accessToken)).status, 403);
  });

  it('demotion by a direct SQL UPDATE of role: the trigger’s notice ends the cached admin token', async () => {
    const target = await signUpAdmin(t);
    assert.equal((await adminRead(t, target.token)).status, 404, 'admin before (now cached)');
    const dropped = invalidation(t, target.id, 'the demoted admin');
    await t.sql(`UPDATE users SET role = 'customer' WHERE id = $1`, [target.id]);
    await dropped;
    assert.equal((await adminRead(t, target.token)).status, 401);
    const [row] = await t.sql<{ live: number }>(`SELECT count(*) FILTER (WHERE revoked_at IS NULL)::int AS live FROM refresh_tokens WHERE user_id = $1`, [target.id]);
    assert.equal(row?.live, 0, 'refresh tokens revoked in the same statement');
  });

  it('refresh-token reuse: every access token of that sign-in → 401; another sign-in of the user keeps working', async () => {
    const u = await signUp(t, { password: 'reuse password' });
    const other = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'reuse password' } });
    const rotated = await t.request<AuthBody>('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    assert.equal(rotated.status, 200);
    for (const token of [u.token, rotated.body.accessToken]) assert.equal((await t.request('GET', '/api/v1/me', { token })).status, 200);
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status, 401, 'reuse detected');
    for (const token of [u.token, rotated.body.accessToken]) assert.equal((await t.request('GET', '/api/v1/me', { token })).status, 401);
    assert.equal((await t.request('GET', '/api/v1/me', { token: other.body.accessToken })).status, 200, 'the other sign-in');
  });

  it('logout: that sign-in’s access token → 401 at once; another sign-in keeps working', async () => {
    const u = await signUp(t, { password: 'logout password' });
    const other = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'logout password' } });
    assert.equal((await t.request('GET', '/api/v1/me', { token: u.token })).status, 200);
    assert.equal((await t.request('POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status, 204);
    assert.equal((await t.request('GET', '/api/v1/me', { token: u.token })).status, 401);
    assert.equal((await t.request('GET', '/api/v1/me', { token: other.body.accessToken })).status, 200);
  });

  it('logout-all: every access and refresh token of the user → 401; a new sign-in works', async () => {
    const u = await signUp(t, { password: 'logout-all password' });
    const other = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'logout-all password' } });
    assert.equal((await t.request('POST', '/api/v1/auth/logout-all', { token: other.body.accessToken })).status, 204);
    for (const token of [u.token, other.body.accessToken]) assert.equal((await t.request('GET', '/api/v1/me', { token })).status, 401);
    for (const refreshToken of [u.refreshToken, other.body.refreshToken]) {
      assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).status, 401);
    }
    const fresh = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'logout-all password' } });
    assert.equal((await t.request('GET', '/api/v1/me', { token: fresh.body.accessToken })).status, 200);
  });
});

describe('PATCH /users/:id', () => {
  it('PATCH /users/:id: role staff → 200 with the user; staff is refused admin endpoints (403) like a customer', async () => {
    const u = await signUp(t, { password: 'staff password' });
    const res = await t.request<{ id: string; email: string; role: string }>('PATCH', `/api/v1/users/${u.id}`, { token: admin.token, body: { role: 'staff' } });
    assert.equal(res.status, 200);
    assert.deepEqual({ id: res.body.id, email: res.body.email, role: res.body.role }, { id: u.id, email: u.email, role: 'staff' });
    const login = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'staff password' } });
    assert.equal(login.body.user.role, 'staff');
    assert.equal((await adminRead(t, login.body.accessToken)).status, 403);
    assert.equal((await t.request('GET', '/api/v1/me', { token: login.body.accessToken })).status, 200);
  });

  it('PATCH /users/:id: the role the user already has → 200 and their sessions go on', async () => {
    const u = await signUp(t);
    assert.equal((await t.request('PATCH', `/api/v1/users/${u.id}`, { token: admin.token, body: { role: 'customer' } })).status, 200);
    assert.equal((await t.request('GET', '/api/v1/me', { token: u.token })).status, 200);
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status, 200);
  });

  it('PATCH /users/:id: unknown id → 404; a bad role or another field → 422, nothing changed', async () => {
    const u = await signUp(t);
    assert.equal((await t.request('PATCH', `/api/v1/users/${randomUUID()}`, { token: admin.token, body: { role: 'admin' } })).status, 404);
    for (const body of [{ role: 'root' }, { role: 'admin', email: 'x@example.com' }, {}, { role: null }]) {
      const res = await t.request<Problem>('PATCH', `/api/v1/users/${u.id}`, { token: admin.token, body });
      assert.equal(res.status, 422, JSON.stringify(body));
    }
    const [row] = await t.sql<{ role: string }>(`SELECT role FROM users WHERE id = $1`, [u.id]);
    assert.equal(row?.role, 'customer');
  });
});

describe('session cache', () => {
  it('session check: with the entry cached a request sends no extra query; after an invalidation it sends one', async () => {
    const u = await signUp(t);
    await t.request('GET', '/api/v1/me', { token: u.token }); // fills the cache
    const warm = await countQueries(t, () => t.request('GET', '/api/v1/me', { token: u.token }));
    t.app.services.sessions.invalidate(u.id);
    const cold = await countQueries(t, () => t.request('GET', '/api/v1/me', { token: u.token }));
    assert.equal(warm.result.status, 200);
    assert.equal(cold.result.status, 200);
    assert.equal(cold.queries, warm.queries + 1);
  });

  it('two app instances on one database: a role change through one ends the cached admin token in both', async () => {
    const t2 = await startTestApp({}, { databaseUrl: t.databaseUrl });
    try {
      await t2.app.services.sessions.ready();
      const target = await signUpAdmin(t);
      assert.equal((await adminRead(t, target.token)).status, 404, 'admin on instance 1 (cached)');
      assert.equal((await adminRead(t2, target.token)).status, 404, 'admin on instance 2 (cached)');
      const dropped = invalidation(t2, target.id, 'the demoted admin on instance 2');
      assert.equal((await t.request('PATCH', `/api/v1/users/${target.id}`, { token: admin.token, body: { role: 'customer' } })).status, 200);
      assert.equal((await adminRead(t, target.token)).status, 401, 'instance 1');
      await dropped;
      assert.equal((await adminRead(t2, target.token)).status, 401, 'instance 2');
    } finally {
      await t2.close();
    }
  });

  it('LISTEN connection down: nothing is served from the cache, so a role change whose notice is lost still ends the token', async () => {
    const sessions = t.app.services.sessions;
    // The listener reconnects after ~250 ms: the steps below must all happen while it is
    // down, which is checked; a round that overlapped a reconnect is run again.
    let proved = false;
    for (let round = 0; round < 5 && !proved; round++) {
      await untilListening(t);
      const [target] = (await makeUsers(t, 1, 'admin')) as [SignedIn];
      assert.equal((await adminRead(t, target.token)).status, 404, 'admin (cached while listening)');
      const lost = invalidation(t, null, 'the cache on losing LISTEN');
      await t.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'marquee-listener'`);
      await lost;
      assert.equal(sessions.listening(), false);
      const whileDown = await adminRead(t, target.token); // a miss: read, and must not be kept
      await t.sql(`UPDATE users SET role = 'customer' WHERE id = $1`, [target.id]); // its notice is lost
      const afterChange = await adminRead(t, target.token);
      if (sessions.listening()) continue; // reconnected in between: not a proof either way
      assert.equal(whileDown.status, 404);
      assert.equal(afterChange.status, 401);
      proved = true;
    }
    assert.ok(proved, 'the LISTEN connection came back too fast in every round');
  });
});
