/** REST conventions a client relies on: 405 with Allow, CORS-readable headers. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type Problem, type TestApp } from '../../test/helpers.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

describe('405 Method Not Allowed', () => {
  it('a wrong method on an existing path → 405 problem+json METHOD_NOT_ALLOWED with Allow', async () => {
    const res = await t.request<Problem>('DELETE', '/api/v1/bookings');
    assert.equal(res.status, 405);
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(res.body.code, 'METHOD_NOT_ALLOWED');
    assert.deepEqual(res.headers.get('allow')?.split(', ').sort(), ['GET', 'HEAD', 'POST']);
    const seats = await t.request<Problem>('PUT', '/api/v1/shows/00000000-0000-4000-8000-000000000000/seats');
    assert.equal(seats.status, 405);
    assert.equal(seats.headers.get('allow'), 'GET, HEAD');
  });

  it('an unknown path stays 404, without Allow', async () => {
    const missing = await t.request<Problem>('POST', '/api/v1/no-such-thing');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
    assert.equal(missing.headers.get('allow'), null);
  });
});

describe('CORS', () => {
  it('browsers on another origin may read Location, Idempotent-Replayed, ETag, Retry-After, X-Request-Id, RateLimit*', async () => {
    const res = await t.request('GET', '/api/v1/movies', { headers: { Origin: 'https://app.example.com' } });
    assert.equal(res.status, 200);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',');
    for (const h of ['Location', 'Idempotent-Replayed', 'ETag', 'Retry-After', 'X-Request-Id', 'RateLimit', 'RateLimit-Policy']) {
      assert.ok(exposed.includes(h), h);
    }
  });
});
