import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, it } from 'node:test';
import { makeShow, seatMap } from '../../../test/builders.ts';
import {
  countQueries,
  httpRequest,
  makeUsers,
  seatIs,
  signUpAdmin,
  spawnServer,
  startTestApp,
  waitUntil,
  watchSeatEvents,
  type SignedIn,
  type TestApp,
} from '../../../test/helpers.ts';

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];
let other: { child: ChildProcess; url: string } | undefined;

before(async () => {
  t = await startTestApp({ HOLD_TTL_SECONDS: '600' });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 4);
});
after(async () => {
  other?.child.kill('SIGTERM');
  await t.close();
});

it('seat-map cache: a repeated read is served from memory; a hold through this process shows at once', async () => {
  const show = await makeShow(t, admin);
  const first = await seatMap(t, show.id);
  const again = await countQueries(t, () => seatMap(t, show.id));
  assert.equal(again.queries, 0, 'served from the cache');
  assert.deepEqual(again.result, first);
  const u = users[0] as SignedIn;
  await t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [first[0]?.id] } });
  assert.equal((await seatMap(t, show.id))[0]?.status, 'held');
});

it('seat-map cache: a booking made through another server process invalidates this one’s cache', async () => {
  other = await spawnServer(t.databaseUrl);
  const show = await makeShow(t, admin);
  const before = await seatMap(t, show.id); // cached here
  assert.equal((await countQueries(t, () => seatMap(t, show.id))).queries, 0, 'cached');
  const seat = before[5]?.id ?? '';
  const events = await watchSeatEvents(t, show.id);
  const u = users[1] as SignedIn;
  const res = await httpRequest(other.url, 'POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seat] } });
  assert.equal(res.status, 201);
  await events.waitFor(seatIs(seat, 'held')); // the other process's write, announced to this one
  events.close();
  assert.equal((await seatMap(t, show.id))[5]?.status, 'held', 'the first read after the announcement is fresh');
});

it('seat-map cache: a hold that lapses reads available at its expiry, with no sweep and no write', async () => {
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  const u = users[2] as SignedIn;
  // Watch from before the hold and wait for its own event, so that event cannot arrive late
  // and be mistaken for one announcing the lapse.
  const events = await watchSeatEvents(t, show.id);
  const res = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seats[2]?.id] } });
  await events.waitFor(seatIs(seats[2]?.id ?? '', 'held'));
  const before = events.events.length;
  // Shorten the hold to ~700 ms from now (no trigger fires: only bookings changes).
  const [row] = await t.sql<{ expires_ms: number }>(
    `UPDATE bookings SET expires_at = now() + interval '700 milliseconds' WHERE id = $1 RETURNING extract(epoch FROM expires_at) * 1000 AS expires_ms`,
    [res.body.id],
  );
  const expiresAt = Number(row?.expires_ms);
  t.app.services.shows.invalidateSeatMap(show.id);
  assert.equal((await seatMap(t, show.id))[2]?.status, 'held'); // cached until the lapse
  // Read it (from the cache) until it turns available: that happens at the lapse, not at the
  // cache's 30 s maximum age, and never before the lapse.
  const flippedAt = await waitUntil(async () => ((await seatMap(t, show.id))[2]?.status === 'available' ? Date.now() : undefined), 'the seat to read available', 5000);
  assert.ok(flippedAt >= expiresAt, `available ${expiresAt - flippedAt} ms before the lapse`);
  assert.ok(flippedAt - expiresAt < 1000, `available only ${flippedAt - expiresAt} ms after the lapse`);
  // No write announced it: the first seat event is a later hold's (events keep commit order).
  const marker = seats[9]?.id ?? '';
  assert.equal((await t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [marker] } })).status, 201);
  await events.waitFor(seatIs(marker, 'held'));
  events.close();
  assert.deepEqual(events.events.slice(before).map((e) => e.seats), [[{ id: marker, status: 'held' }]]);
  assert.equal((await t.sql(`SELECT status FROM bookings WHERE id = $1`, [res.body.id]))[0]?.['status'], 'pending', 'no sweep ran');
});

it('seat map through the full stack: a cached read answers the same status, headers and bytes as the miss that filled the cache; 304 on a match; both counted in /metrics', async () => {
  const show = await makeShow(t, admin);
  t.app.services.shows.invalidateSeatMap(show.id);
  const miss = await t.request('GET', `/api/v1/shows/${show.id}/seats`);
  const hit = await countQueries(t, () => t.request('GET', `/api/v1/shows/${show.id}/seats`));
  assert.equal(hit.queries, 0, 'served from the cache');
  assert.equal(hit.result.status, 200);
  assert.equal(hit.result.text, miss.text);
  const names = (h: Headers) => [...h.keys()].filter((k) => !['date', 'x-request-id', 'connection', 'keep-alive'].includes(k)).sort();
  assert.deepEqual(names(hit.result.headers), names(miss.headers));
  for (const k of names(miss.headers)) assert.equal(hit.result.headers.get(k), miss.headers.get(k), k);
  assert.equal(miss.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(miss.headers.get('cache-control'), 'no-cache');
  assert.equal(miss.headers.get('x-content-type-options'), 'nosniff', 'helmet headers');
  assert.equal(miss.headers.get('access-control-allow-origin'), '*', 'CORS headers');
  assert.match(miss.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const etag = hit.result.headers.get('etag') ?? '';
  const revalidated = await t.request('GET', `/api/v1/shows/${show.id}/seats`, { headers: { 'if-none-match': etag } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.text, '');
  assert.equal(revalidated.headers.get('etag'), etag);
  const metrics = await t.request('GET', '/metrics');
  assert.match(metrics.text, /http_requests_total\{method="GET",route="\/api\/v1\/shows\/:id\/seats",status="304"\} \d+/);
  assert.match(metrics.text, /http_requests_total\{method="GET",route="\/api\/v1\/shows\/:id\/seats",status="200"\} \d+/);
});

it('single flight: twenty concurrent reads of a cold seat map share one query', async () => {
  const show = await makeShow(t, admin);
  t.app.services.shows.invalidateSeatMap(show.id);
  const { result, queries } = await countQueries(t, () => Promise.all(Array.from({ length: 20 }, () => t.app.services.shows.seatMap(show.id))));
  assert.equal(queries, 1);
  assert.equal(new Set(result.map((r) => r.etag)).size, 1);
});
