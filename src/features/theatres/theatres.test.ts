import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeScreen, makeShow, makeTheatre } from '../../../test/builders.ts';
import { signUp, signUpAdmin, startTestApp, type SignedIn, type TestApp } from '../../../test/helpers.ts';

interface TheatreBody {
  id: string;
  name: string;
  city: string;
  address: string;
  createdAt: string;
  screens?: { id: string; name: string; seatCount: number }[];
}
interface ScreenBody {
  id: string;
  theatreId: string;
  name: string;
  seatCount: number;
  categories: string[];
  seats: { row: string; number: number; category: string; aisleAfter: boolean }[];
}

let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
before(async () => {
  t = await startTestApp();
  admin = await signUpAdmin(t);
  customer = await signUp(t);
});
after(async () => {
  await t.close();
});

describe('theatres', () => {
  it('create and get: admin → 201; get shows its screens with seat counts', async () => {
    const created = await t.request<TheatreBody>('POST', '/api/v1/theatres', {
      token: admin.token,
      body: { name: 'Rex', city: 'Berlin', address: 'Hauptstr. 1' },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), ['address', 'city', 'createdAt', 'id', 'name']);
    await makeScreen(t, admin, { theatreId: created.body.id });
    const got = await t.request<TheatreBody>('GET', `/api/v1/theatres/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.screens?.length, 1);
    assert.equal(got.body.screens?.[0]?.seatCount, 16);
  });

  it('create: customer → 403; unknown field → 422', async () => {
    assert.equal((await t.request('POST', '/api/v1/theatres', { token: customer.token, body: { name: 'X', city: 'Y', address: 'Z' } })).status, 403);
    const res = await t.request<{ errors: { path: string }[] }>('POST', '/api/v1/theatres', {
      token: admin.token,
      body: { name: 'X', city: 'Y', address: 'Z', ownerId: customer.id },
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.errors.map((e) => e.path), ['ownerId']);
  });

  it('list: filter by city (any case) and search by name, paged', async () => {
    await makeTheatre(t, admin, { name: 'Odeon Leicester', city: 'London' });
    await makeTheatre(t, admin, { name: 'Curzon Soho', city: 'london' });
    await makeTheatre(t, admin, { name: 'Odeon Paris', city: 'Paris' });
    const london = await t.request<{ items: TheatreBody[]; nextCursor: string | null }>('GET', '/api/v1/theatres?city=LONDON');
    assert.deepEqual(london.body.items.map((x) => x.name), ['Curzon Soho', 'Odeon Leicester']);
    const odeon = await t.request<{ items: TheatreBody[] }>('GET', '/api/v1/theatres?q=odeon');
    assert.deepEqual(odeon.body.items.map((x) => x.name), ['Odeon Leicester', 'Odeon Paris']);
    const page1 = await t.request<{ items: TheatreBody[]; nextCursor: string | null }>('GET', '/api/v1/theatres?city=london&limit=1');
    assert.equal(page1.body.items.length, 1);
    assert.ok(page1.body.nextCursor);
    const page2 = await t.request<{ items: TheatreBody[]; nextCursor: string | null }>('GET', `/api/v1/theatres?city=london&limit=1&cursor=${page1.body.nextCursor}`);
    assert.equal(page2.body.items[0]?.name, 'Odeon Leicester');
    assert.equal(page2.body.nextCursor, null);
  });

  it('patch and delete: partial update; delete with upcoming show → 409, without → 204', async () => {
    const th = await makeTheatre(t, admin);
    const patched = await t.request<TheatreBody>('PATCH', `/api/v1/theatres/${th.id}`, { token: admin.token, body: { city: 'Rome' } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.city, 'Rome');
    assert.equal(patched.body.name, th.name);

    const screen = await makeScreen(t, admin, { theatreId: th.id });
    await makeShow(t, admin, { screenId: screen.id });
    const refused = await t.request<{ code: string }>('DELETE', `/api/v1/theatres/${th.id}`, { token: admin.token });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'HAS_DEPENDENTS');

    const other = await makeTheatre(t, admin);
    assert.equal((await t.request('DELETE', `/api/v1/theatres/${other.id}`, { token: admin.token })).status, 204);
    assert.equal((await t.request('GET', `/api/v1/theatres/${other.id}`)).status, 404);
  });
});

describe('screens', () => {
  it('create: rows become seats stored once, numbered from 1, with their category', async () => {
    const th = await makeTheatre(t, admin);
    const res = await t.request<ScreenBody>('POST', `/api/v1/theatres/${th.id}/screens`, {
      token: admin.token,
      body: {
        name: 'Screen 1',
        rows: [
          { label: 'A', seats: 3, category: 'accessible' },
          { label: 'B', seats: 4, category: 'Standard' },
        ],
      },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.seatCount, 7);
    assert.deepEqual(res.body.categories, ['accessible', 'standard']);
    // Without aisles, as before, with no aisle anywhere.
    assert.deepEqual(res.body.seats.slice(0, 4), [
      { row: 'A', number: 1, category: 'accessible', aisleAfter: false },
      { row: 'A', number: 2, category: 'accessible', aisleAfter: false },
      { row: 'A', number: 3, category: 'accessible', aisleAfter: false },
      { row: 'B', number: 1, category: 'standard', aisleAfter: false },
    ]);
    assert.ok(res.body.seats.every((s) => !s.aisleAfter));
    const rows = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM seats WHERE screen_id = $1`, [res.body.id]);
    assert.equal(rows[0]?.n, 7);
    const got = await t.request<ScreenBody>('GET', `/api/v1/screens/${res.body.id}`);
    assert.deepEqual(got.body, res.body);
  });

  it('create: duplicate row labels, empty rows, bad category → 422 with paths; same name twice → 409', async () => {
    const th = await makeTheatre(t, admin);
    const bad = await t.request<{ errors: { path: string }[] }>('POST', `/api/v1/theatres/${th.id}/screens`, {
      token: admin.token,
      body: { name: 'S', rows: [{ label: 'A', seats: 2, category: 'standard' }, { label: 'A', seats: 0, category: 'VIP lounge!' }] },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.errors.map((e) => e.path).sort(), ['rows.1.category', 'rows.1.label', 'rows.1.seats']);
    assert.equal((await t.request('POST', `/api/v1/theatres/${th.id}/screens`, { token: admin.token, body: { name: 'S', rows: [] } })).status, 422);
    const body = { name: 'Twin', rows: [{ label: 'A', seats: 2, category: 'standard' }] };
    assert.equal((await t.request('POST', `/api/v1/theatres/${th.id}/screens`, { token: admin.token, body })).status, 201);
    const dup = await t.request<{ code: string }>('POST', `/api/v1/theatres/${th.id}/screens`, { token: admin.token, body });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'SCREEN_NAME_TAKEN');
  });

  it('create with aisles: the aisles of each row mark the seats they run after, stored per seat and read back', async () => {
    const th = await makeTheatre(t, admin);
    const res = await t.request<ScreenBody>('POST', `/api/v1/theatres/${th.id}/screens`, {
      token: admin.token,
      body: {
        name: 'Aisles',
        rows: [
          { label: 'A', seats: 8, category: 'accessible', aisles: [] },
          { label: 'B', seats: 14, category: 'standard', aisles: [10, 4] },
          { label: 'C', seats: 6, category: 'standard', aisles: [3] },
          { label: 'D', seats: 14, category: 'premium' },
        ],
      },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.seatCount, 42);
    const aisles = (body: ScreenBody) => body.seats.filter((s) => s.aisleAfter).map((s) => `${s.row}${s.number}`);
    assert.deepEqual(aisles(res.body), ['B4', 'B10', 'C3']);
    assert.equal(res.body.seats.find((s) => s.row === 'B' && s.number === 5)?.aisleAfter, false);
    const stored = await t.sql<{ seat: string }>(
      `SELECT row_label || number AS seat FROM seats WHERE screen_id = $1 AND aisle_after ORDER BY row_index, number`,
      [res.body.id],
    );
    assert.deepEqual(stored.map((r) => r.seat), ['B4', 'B10', 'C3']);
    const got = await t.request<ScreenBody>('GET', `/api/v1/screens/${res.body.id}`);
    assert.deepEqual(got.body, res.body);
  });

  it('create: bad aisles → 422 naming rows.<i>.aisles.<j> (0, ≥ seats, twice, not an integer, too many); nothing stored', async () => {
    const th = await makeTheatre(t, admin);
    const create = (rows: unknown[]) =>
      t.request<{ code: string; errors: { path: string }[] }>('POST', `/api/v1/theatres/${th.id}/screens`, { token: admin.token, body: { name: 'Bad aisles', rows } });
    const bad = await create([
      { label: 'A', seats: 10, category: 'standard', aisles: [0, 4] },
      { label: 'B', seats: 10, category: 'standard', aisles: [4, 10, 11] },
      { label: 'C', seats: 10, category: 'standard', aisles: [3, 7, 3] },
      { label: 'D', seats: 10, category: 'standard', aisles: [2.5, '5'] },
      { label: 'E', seats: 1, category: 'standard', aisles: [1] },
    ]);
    assert.equal(bad.status, 422, bad.text);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    assert.deepEqual(bad.body.errors.map((e) => e.path).sort(), ['rows.0.aisles.0', 'rows.1.aisles.1', 'rows.1.aisles.2', 'rows.2.aisles.2', 'rows.3.aisles.0', 'rows.3.aisles.1', 'rows.4.aisles.0']);
    const tooMany = await create([{ label: 'A', seats: 30, category: 'standard', aisles: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }]);
    assert.equal(tooMany.status, 422);
    assert.deepEqual(tooMany.body.errors.map((e) => e.path), ['rows.0.aisles']);
    const notList = await create([{ label: 'A', seats: 30, category: 'standard', aisles: 4 }]);
    assert.equal(notList.status, 422);
    assert.deepEqual(notList.body.errors.map((e) => e.path), ['rows.0.aisles']);
    assert.equal((await t.sql(`SELECT 1 FROM screens WHERE theatre_id = $1`, [th.id])).length, 0, 'nothing stored');
    // The largest allowed: ten aisles, the last after the row's last seat but one.
    const ok = await create([{ label: 'A', seats: 30, category: 'standard', aisles: [1, 2, 3, 4, 5, 6, 7, 8, 9, 29] }]);
    assert.equal(ok.status, 201, ok.text);
  });

  it('create: on an unknown theatre → 404', async () => {
    const res = await t.request('POST', '/api/v1/theatres/00000000-0000-4000-8000-000000000000/screens', {
      token: admin.token,
      body: { name: 'S', rows: [{ label: 'A', seats: 2, category: 'standard' }] },
    });
    assert.equal(res.status, 404);
  });
});
