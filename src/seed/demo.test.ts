import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startTestApp, type TestApp } from '../../test/helpers.ts';
import { catalogueIsEmpty, seedDemoCatalogue, type SeedResult } from './demo.ts';

let t: TestApp;
let result: SeedResult;
const progress: string[] = [];
before(async () => {
  t = await startTestApp();
  assert.equal(await catalogueIsEmpty(t.db), true);
  result = await seedDemoCatalogue(t.db, { currency: 'USD', createAdmin: true, progress: (m) => progress.push(m) });
});
after(async () => {
  await t.close();
});

it('seed: a realistic catalogue — several cities, 20+ movies, screens of 100–400 seats in three categories', async () => {
  assert.equal(await catalogueIsEmpty(t.db), false);
  assert.ok(result.movies >= 20);
  const cities = await t.sql<{ n: number }>(`SELECT count(DISTINCT city)::int AS n FROM theatres`);
  assert.ok((cities[0]?.n ?? 0) >= 3);
  const screens = await t.sql<{ seats: number; categories: string[] }>(
    `SELECT count(*)::int AS seats, array_agg(DISTINCT category ORDER BY category) AS categories FROM seats GROUP BY screen_id`,
  );
  assert.equal(screens.length, result.screens);
  for (const s of screens) {
    assert.ok(s.seats >= 100 && s.seats <= 400, `${s.seats} seats`);
    assert.deepEqual(s.categories, ['accessible', 'premium', 'standard']);
  }
  assert.ok(progress.length >= result.screens, 'progress reported per screen');
});

it('seed: shows across the next 7 days, each with its own priced seats, browsable through the API', async () => {
  const span = await t.sql<{ days: number; unpriced: number }>(
    `SELECT count(DISTINCT date_trunc('day', starts_at))::int AS days,
            (SELECT count(*)::int FROM show_seats WHERE price IS NULL) AS unpriced
       FROM shows WHERE starts_at > now()`,
  );
  assert.ok((span[0]?.days ?? 0) >= 6);
  assert.equal(span[0]?.unpriced, 0);
  const mismatched = await t.sql(`SELECT 1 FROM shows s WHERE total_seats <> (SELECT count(*) FROM show_seats ss WHERE ss.show_id = s.id)`);
  assert.equal(mismatched.length, 0);
  const res = await t.request<{ items: { availableSeats: number }[] }>('GET', '/api/v1/shows?city=London&limit=5');
  assert.equal(res.status, 200);
  assert.equal(res.body.items.length, 5);
});

it('seed: every screen has aisles (one in the small screen, two in the wide ones), never after a row\'s last seat, and the seat maps carry them', async () => {
  const screens = await t.sql<{ per_row: number; aisles: number[]; rows: number; rows_alike: boolean; at_end: number }>(
    `SELECT max(number)::int AS per_row,
            array_agg(DISTINCT number ORDER BY number) FILTER (WHERE aisle_after) AS aisles,
            count(DISTINCT row_label)::int AS rows,
            count(*) FILTER (WHERE aisle_after) = count(DISTINCT row_label) * count(DISTINCT number) FILTER (WHERE aisle_after) AS rows_alike,
            count(*) FILTER (WHERE aisle_after AND number = (SELECT max(s2.number) FROM seats s2 WHERE s2.screen_id = s.screen_id AND s2.row_label = s.row_label))::int AS at_end
       FROM seats s GROUP BY screen_id`,
  );
  assert.equal(screens.length, result.screens);
  for (const s of screens) {
    assert.equal(s.aisles.length, s.per_row < 15 ? 1 : 2, `${s.per_row} seats a row: aisles after ${s.aisles.join(', ')}`);
    assert.ok(s.rows_alike, 'every row has the same aisles');
    assert.equal(s.at_end, 0, 'no aisle after the last seat of a row');
  }
  const uncopied = await t.sql(`SELECT 1 FROM show_seats ss JOIN seats s ON s.id = ss.seat_id WHERE ss.aisle_after <> s.aisle_after LIMIT 1`);
  assert.equal(uncopied.length, 0, "the shows' seats copy the layout's aisles");
  const list = await t.request<{ items: { id: string }[] }>('GET', '/api/v1/shows?limit=1');
  const map = await t.request<{ seats: { aisleAfter: boolean }[] }>('GET', `/api/v1/shows/${list.body.items[0]?.id ?? ''}/seats`);
  assert.equal(map.status, 200);
  assert.ok(map.body.seats.some((x) => x.aisleAfter));
});

it('seed: the demo admin can sign in and act as admin', async () => {
  assert.ok(result.admin);
  const login = await t.request<{ accessToken: string; user: { role: string } }>('POST', '/api/v1/auth/login', { body: result.admin });
  assert.equal(login.status, 200);
  assert.equal(login.body.user.role, 'admin');
});

it('seed: the demo usher signs in as staff (the door page account), with a password of its own', async () => {
  assert.ok(result.usher);
  assert.notEqual(result.usher.password, result.admin?.password);
  const login = await t.request<{ user: { role: string } }>('POST', '/api/v1/auth/login', { body: result.usher });
  assert.equal(login.status, 200);
  assert.equal(login.body.user.role, 'staff');
});
