import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { signUp, startTestApp, type TestApp, type Problem } from '../../../test/helpers.ts';

interface AuthBody {
  user: { id: string; email: string; name: string; role: string; createdAt: string };
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const SECRET = 'test-secret-that-is-long-enough-0123456789';
let t: TestApp;

before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0', ADMIN_EMAIL: 'Boss@Example.com', ADMIN_PASSWORD: 'admin-password-1' });
});
after(async () => {
  await t.close();
});

describe('register', () => {
  it('register: valid body → 201 with user, token pair and a stored argon2id hash', async () => {
    const res = await t.request<AuthBody>('POST', '/api/v1/auth/register', {
      body: { email: '  Alice@Example.COM ', password: 'password123', name: 'Alice' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.user.email, 'alice@example.com');
    assert.equal(res.body.user.role, 'customer');
    assert.equal(res.body.expiresIn, 900);
    assert.ok(res.body.accessToken.split('.').length === 3);
    assert.match(res.body.refreshToken, /^rt_/);
    assert.deepEqual(Object.keys(res.body.user).sort(), ['createdAt', 'email', 'id', 'name', 'role']);
    const [row] = await t.sql<{ password_hash: string }>(`SELECT password_hash FROM users WHERE id = $1`, [res.body.user.id]);
    assert.match(row?.password_hash ?? '', /^\$argon2id\$/);
    const tokens = await t.sql<{ token_hash: Buffer }>(`SELECT token_hash FROM refresh_tokens WHERE user_id = $1`, [res.body.user.id]);
    assert.equal(tokens.length, 1);
    assert.ok(!tokens[0]?.token_hash.toString('utf8').includes(res.body.refreshToken), 'refresh token stored only as a hash');
  });

  it('register: same email in another case → 409 EMAIL_TAKEN', async () => {
    await signUp(t, { email: 'bob@example.com' });
    const res = await t.request<Problem>('POST', '/api/v1/auth/register', {
      body: { email: 'BOB@example.com', password: 'password123', name: 'Bob 2' },
    });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'EMAIL_TAKEN');
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  });

  it('register: role in the body (mass assignment) → 422 naming the field, nothing stored', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/register', {
      body: { email: 'mallory@example.com', password: 'password123', name: 'M', role: 'admin' },
    });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(res.body.errors?.map((e) => e.path), ['role']);
    assert.equal((await t.sql(`SELECT 1 FROM users WHERE email = 'mallory@example.com'`)).length, 0);
  });

  it('register: bad email, short and long passwords, missing name → 422 with each path', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/register', { body: { email: 'not-an-email', password: 'short' } });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.errors?.map((e) => e.path).sort(), ['email', 'name', 'password']);
    const long = await t.request<Problem>('POST', '/api/v1/auth/register', {
      body: { email: 'long@example.com', password: 'x'.repeat(257), name: 'L' },
    });
    assert.equal(long.status, 422);
    assert.deepEqual(long.body.errors?.map((e) => e.path), ['password']);
    const edge = await t.request('POST', '/api/v1/auth/register', {
      body: { email: 'edge@example.com', password: 'x'.repeat(256), name: 'E' },
    });
    assert.equal(edge.status, 201);
  });

  it('register: body of the wrong type → 422, not 500', async () => {
    for (const body of [[], 'text', 42, null, { email: 1, password: true, name: {} }]) {
      const res = await t.request<Problem>('POST', '/api/v1/auth/register', { body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.code, 'VALIDATION_FAILED');
    }
  });
});

describe('login', () => {
  it('login: right password → 200 with a working access token', async () => {
    const u = await signUp(t, { password: 'right password' });
    const res = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email.toUpperCase(), password: 'right password' } });
    assert.equal(res.status, 200);
    const me = await t.request<AuthBody['user']>('GET', '/api/v1/me', { token: res.body.accessToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.id, u.id);
  });

  it('login: unknown email and wrong password → the same 401 INVALID_CREDENTIALS', async () => {
    const u = await signUp(t);
    const wrong = await t.request<Problem>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password' } });
    const unknown = await t.request<Problem>('POST', '/api/v1/auth/login', {
      body: { email: 'nobody-here@example.com', password: 'wrong password' },
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
  });

  it('login: ADMIN_EMAIL/ADMIN_PASSWORD → that admin can sign in with role admin', async () => {
    const res = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: 'boss@example.com', password: 'admin-password-1' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.user.role, 'admin');
  });
});

describe('access tokens', () => {
  it('/me: no token → 401 UNAUTHENTICATED with WWW-Authenticate', async () => {
    const res = await t.request<Problem>('GET', '/api/v1/me');
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'UNAUTHENTICATED');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  });

  it('/me: tampered payload (role changed to admin) → 401', async () => {
    const u = await signUp(t);
    const [h, p, s] = u.token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    payload['role'] = 'admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const res = await t.request<Problem>('GET', '/api/v1/me', { token: forged });
    assert.equal(res.status, 401);
  });

  it('/me: alg none token → 401', async () => {
    const u = await signUp(t);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ sub: u.id, role: 'admin', iss: 'marquee', aud: 'marquee-api', exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString('base64url');
    for (const token of [`${header}.${payload}.`, `${header}.${payload}`]) {
      const res = await t.request<Problem>('GET', '/api/v1/me', { token });
      assert.equal(res.status, 401, token);
    }
  });

  it('/me: token signed with another secret or algorithm → 401', async () => {
    const u = await signUp(t);
    const other = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.id)
      .setIssuer('marquee')
      .setAudience('marquee-api')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode('another-secret-another-secret-another'));
    assert.equal((await t.request('GET', '/api/v1/me', { token: other })).status, 401);
    const hs512 = await new SignJWT({ role: 'customer' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(u.id)
      .setIssuer('marquee')
      .setAudience('marquee-api')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
    assert.equal((await t.request('GET', '/api/v1/me', { token: hs512 })).status, 401);
  });

  it('/me: expired token → 401', async () => {
    const u = await signUp(t);
    const expired = await new SignJWT({ role: 'customer', ver: 0, sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.id)
      .setIssuer('marquee')
      .setAudience('marquee-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(SECRET));
    const res = await t.request<Problem>('GET', '/api/v1/me', { token: expired });
    assert.equal(res.status, 401);
    // The same claims, not expired, pass: the 401 above is about expiry alone.
    const fresh = await new SignJWT({ role: 'customer', ver: 0, sid: randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(u.id)
      .setIssuer('marquee')
      .setAudience('marquee-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    assert.equal((await t.request('GET', '/api/v1/me', { token: fresh })).status, 200);
  });

  it('/me: garbage Authorization header → 401, not 500', async () => {
    for (const header of ['Bearer', 'Basic abc', 'Bearer a.b.c', 'Bearer ' + 'x'.repeat(5000)]) {
      const res = await t.request('GET', '/api/v1/me', { headers: { authorization: header } });
      assert.equal(res.status, 401, header.slice(0, 20));
    }
  });
});

describe('refresh and logout', () => {
  it('refresh: valid token → new pair; the old token then fails', async () => {
    const u = await signUp(t);
    const first = await t.request<AuthBody>('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refreshToken, u.refreshToken);
    assert.equal((await t.request('GET', '/api/v1/me', { token: first.body.accessToken })).status, 200);
    const again = await t.request<Problem>('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    assert.equal(again.status, 401);
  });

  it('refresh: reusing a rotated token → 401 and the whole family is revoked', async () => {
    const u = await signUp(t);
    const rotated = await t.request<AuthBody>('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    assert.equal(rotated.status, 200);
    // The thief replays the old token...
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status, 401);
    // ...and the legitimate newest token is dead too.
    const newest = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
    assert.equal(newest.status, 401);
    const live = await t.sql(`SELECT 1 FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [u.id]);
    assert.equal(live.length, 0);
  });

  it('refresh: the same token twice at once → exactly one rotation wins', async () => {
    const u = await signUp(t);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })),
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.equal(results.filter((r) => r.status === 401).length, 7);
  });

  it('refresh: another sign-in of the same user survives a family revocation', async () => {
    const u = await signUp(t, { password: 'password-two' });
    const other = await t.request<AuthBody>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'password-two' } });
    await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } });
    await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } }); // reuse
    const res = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: other.body.refreshToken } });
    assert.equal(res.status, 200);
  });

  it('logout: → 204; that refresh token then fails; unknown token → 204 too', async () => {
    const u = await signUp(t);
    assert.equal((await t.request('POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status, 204);
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status, 401);
    assert.equal((await t.request('POST', '/api/v1/auth/logout', { body: { refreshToken: 'rt_unknown' } })).status, 204);
  });

  it('refresh: missing or wrong-typed token → 422', async () => {
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: {} })).status, 422);
    assert.equal((await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: 5 } })).status, 422);
  });
});
