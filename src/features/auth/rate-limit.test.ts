import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { signUp, startTestApp, type TestApp } from '../../../test/helpers.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '3' });
});
after(async () => {
  await t.close();
});

it('login: failures past AUTH_RATE_LIMIT_PER_MINUTE → 429 RATE_LIMITED with Retry-After', async () => {
  const u = await signUp(t, { password: 'the right one' });
  const ok = await t.request('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'the right one' } });
  assert.equal(ok.status, 200, 'successful logins do not count');
  for (let i = 0; i < 3; i++) {
    const res = await t.request('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong' } });
    assert.equal(res.status, 401);
  }
  const limited = await t.request<{ code: string }>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'the right one' } });
  assert.equal(limited.status, 429);
  assert.equal(limited.body.code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);

  // Another email from the same address is counted apart.
  const other = await signUp(t, { password: 'other password' });
  const res = await t.request('POST', '/api/v1/auth/login', { body: { email: other.email, password: 'other password' } });
  assert.equal(res.status, 200);
});
