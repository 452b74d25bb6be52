import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { futureStart, makeMovie, makeScreen, makeShow, makeTheatre, seatMap, type Show } from '../../../test/builders.ts';
import { countQueries, seatIs, signUp, signUpAdmin, startTestApp, watchSeatEvents, type SignedIn, type TestApp, type Page } from '../../../test/helpers.ts';

interface ShowBody extends Show {
  endsAt: string;
  prices: Record<string, number>;
  currency: string;
  status: string;
  movie: { id: string; title: string };
  theatre: { id: string; name: string; city: string };
}

let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
before(async () => {
  t = await startTestApp({ SHOW_CLEANING_MINUTES: '15' });
  admin = await signUpAdmin(t);
  customer = await signUp(t);
});
after(async () => {
  await t.close();
});

const hour = 3600_000;

describe('creating shows', () => {
  it('create: → 201 with its own seats, one per layout seat, priced by category', async () => {
    const movie = await makeMovie(t, admin, { durationMinutes: 100 });
    const screen = await makeScreen(t, admin);
    const startsAt = futureStart();
    const res = await t.request<ShowBody>('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt, prices: { standard: 1200, premium: 1800 } },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.totalSeats, 16);
    assert.equal(res.body.availableSeats, 16);
    assert.equal(res.body.status, 'scheduled');
    assert.equal(res.body.currency, 'USD');
    assert.equal(res.body.theatreId, screen.theatreId);
    assert.equal(new Date(res.body.endsAt).getTime() - new Date(startsAt).getTime(), 100 * 60_000);
    const rows = await t.sql<{ category: string; price: number; n: number }>(
      `SELECT category, price, count(*)::int AS n FROM show_seats WHERE show_id = $1 GROUP BY 1, 2 ORDER BY 1`,
      [res.body.id],
    );
    assert.deepEqual(rows, [
      { category: 'premium', price: 1800, n: 4 },
      { category: 'standard', price: 1200, n: 12 },
    ]);
  });

  it('create: a category without a price, or a price for no category → 422 naming prices.<category>', async () => {
    const movie = await makeMovie(t, admin);
    const screen = await makeScreen(t, admin);
    const missing = await t.request<{ errors: { path: string }[] }>('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: futureStart(), prices: { standard: 1000, imax: 2000 } },
    });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.errors.map((e) => e.path).sort(), ['prices.imax', 'prices.premium']);
    const negative = await t.request('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: futureStart(), prices: { standard: -1, premium: 10.5 } },
    });
    assert.equal(negative.status, 422);
    assert.equal((await t.sql(`SELECT 1 FROM shows WHERE screen_id = $1`, [screen.id])).length, 0, 'nothing stored');
  });

  it('create: start in the past → 422; unknown movie or screen → 404; customer → 403', async () => {
    const movie = await makeMovie(t, admin);
    const screen = await makeScreen(t, admin);
    const prices = { standard: 1000, premium: 1500 };
    const past = await t.request<{ errors: { path: string }[] }>('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: new Date(Date.now() - hour).toISOString(), prices },
    });
    assert.equal(past.status, 422);
    assert.equal(past.body.errors[0]?.path, 'startsAt');
    const nobody = '00000000-0000-4000-8000-000000000000';
    assert.equal((await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: nobody, screenId: screen.id, startsAt: futureStart(), prices } })).status, 404);
    assert.equal((await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: movie.id, screenId: nobody, startsAt: futureStart(), prices } })).status, 404);
    assert.equal((await t.request('POST', '/api/v1/shows', { token: customer.token, body: { movieId: movie.id, screenId: screen.id, startsAt: futureStart(), prices } })).status, 403);
    assert.equal((await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: movie.id, screenId: screen.id, startsAt: 'tomorrow', prices } })).status, 422);
  });

  it('overlap: a show inside another one plus its cleaning buffer → 409 SHOW_OVERLAP; right after the buffer → 201', async () => {
    const movie = await makeMovie(t, admin, { durationMinutes: 120 });
    const screen = await makeScreen(t, admin);
    const prices = { standard: 1000, premium: 1500 };
    const start = new Date(Date.now() + 30 * 24 * hour);
    const first = await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: movie.id, screenId: screen.id, startsAt: start.toISOString(), prices } });
    assert.equal(first.status, 201);
    // Ends at +120 min, cleaning until +135 min.
    const during = await t.request<{ code: string }>('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: new Date(start.getTime() + 130 * 60_000).toISOString(), prices },
    });
    assert.equal(during.status, 409);
    assert.equal(during.body.code, 'SHOW_OVERLAP');
    const before = await t.request('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: new Date(start.getTime() - 60 * 60_000).toISOString(), prices },
    });
    assert.equal(before.status, 409, 'a show that would run into the first one');
    const afterBuffer = await t.request('POST', '/api/v1/shows', {
      token: admin.token,
      body: { movieId: movie.id, screenId: screen.id, startsAt: new Date(start.getTime() + 135 * 60_000).toISOString(), prices },
    });
    assert.equal(afterBuffer.status, 201);
    // Another screen is free at that time.
    const otherScreen = await makeScreen(t, admin, { theatreId: screen.theatreId });
    const elsewhere = await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: movie.id, screenId: otherScreen.id, startsAt: start.toISOString(), prices } });
    assert.equal(elsewhere.status, 201);
  });

  it('overlap race: ten admins create a show for one slot at once → exactly one wins, nine get 409', async () => {
    const movie = await makeMovie(t, admin);
    const screen = await makeScreen(t, admin);
    const startsAt = new Date(Date.now() + 40 * 24 * hour).toISOString();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.request<{ code?: string }>('POST', '/api/v1/shows', {
          token: admin.token,
          // Slightly different starts, all overlapping.
          body: { movieId: movie.id, screenId: screen.id, startsAt: new Date(new Date(startsAt).getTime() + i * 60_000).toISOString(), prices: { standard: 1, premium: 2 } },
        }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    assert.ok(results.filter((r) => r.status === 409).every((r) => r.body.code === 'SHOW_OVERLAP'));
    const rows = await t.sql(`SELECT 1 FROM shows WHERE screen_id = $1`, [screen.id]);
    assert.equal(rows.length, 1);
  });

  it('overlap: the database itself refuses an overlapping show written straight into it', async () => {
    const show = await makeShow(t, admin);
    await assert.rejects(
      t.sql(
        `INSERT INTO shows (movie_id, screen_id, theatre_id, starts_at, ends_at, busy_until, prices, currency)
         SELECT movie_id, screen_id, theatre_id, starts_at + interval '10 minutes', ends_at + interval '10 minutes', busy_until + interval '10 minutes', prices, currency
           FROM shows WHERE id = $1`,
        [show.id],
      ),
      (err: Error & { code?: string }) => err.code === '23P01',
    );
  });
});

describe('listing and reading shows', () => {
  it('list: filters by movie, theatre, city and window, with summaries and available seats, in one query', async () => {
    const movie = await makeMovie(t, admin, { title: 'List Me' });
    const theatre = await makeTheatre(t, admin, { city: 'Gotham' });
    const screen = await makeScreen(t, admin, { theatreId: theatre.id });
    const base = Date.now() + 60 * 24 * hour;
    const created: Show[] = [];
    for (let i = 0; i < 5; i++) {
      created.push(await makeShow(t, admin, { movieId: movie.id, screenId: screen.id, startsAt: new Date(base + i * 4 * hour).toISOString() }));
    }
    const { result: res, queries } = await countQueries(t, () => t.request<Page<ShowBody>>('GET', `/api/v1/shows?movieId=${movie.id}&limit=100`));
    assert.equal(res.status, 200);
    assert.equal(queries, 1, 'one query, not one per show');
    assert.deepEqual(res.body.items.map((s) => s.id), created.map((s) => s.id));
    const first = res.body.items[0];
    assert.equal(first?.movie.title, 'List Me');
    assert.equal(first?.theatre.city, 'Gotham');
    assert.equal(first?.availableSeats, 16);

    const byCity = await t.request<Page<ShowBody>>('GET', `/api/v1/shows?city=gotham`);
    assert.equal(byCity.body.items.length, 5);
    const byTheatre = await t.request<Page<ShowBody>>(`GET`, `/api/v1/shows?theatreId=${theatre.id}&limit=2`);
    assert.equal(byTheatre.body.items.length, 2);
    assert.ok(byTheatre.body.nextCursor);
    const window = await t.request<Page<ShowBody>>(
      'GET',
      `/api/v1/shows?movieId=${movie.id}&from=${encodeURIComponent(new Date(base + hour).toISOString())}&to=${encodeURIComponent(new Date(base + 9 * hour).toISOString())}`,
    );
    assert.deepEqual(window.body.items.map((s) => s.id), [created[1]?.id, created[2]?.id]);
    const badWindow = await t.request('GET', `/api/v1/shows?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z`);
    assert.equal(badWindow.status, 422);
  });

  it('list: past and cancelled shows are not upcoming', async () => {
    const movie = await makeMovie(t, admin);
    const past = await makeShow(t, admin, { movieId: movie.id });
    await t.sql(`UPDATE shows SET starts_at = now() - interval '5 hours', ends_at = now() - interval '3 hours', busy_until = now() - interval '170 minutes' WHERE id = $1`, [past.id]);
    const cancelled = await makeShow(t, admin, { movieId: movie.id });
    assert.equal((await t.request('POST', `/api/v1/shows/${cancelled.id}/cancel`, { token: admin.token })).status, 200);
    const live = await makeShow(t, admin, { movieId: movie.id });
    const res = await t.request<Page<ShowBody>>('GET', `/api/v1/shows?movieId=${movie.id}`);
    assert.deepEqual(res.body.items.map((s) => s.id), [live.id]);
  });

  it('get: the contract shape; unknown → 404', async () => {
    const show = await makeShow(t, admin);
    const res = await t.request<ShowBody>('GET', `/api/v1/shows/${show.id}`);
    assert.equal(res.status, 200);
    for (const key of ['id', 'movieId', 'screenId', 'theatreId', 'startsAt', 'endsAt', 'prices', 'currency', 'status', 'availableSeats', 'totalSeats']) {
      assert.ok(key in res.body, key);
    }
    assert.equal((await t.request('GET', '/api/v1/shows/00000000-0000-4000-8000-000000000000')).status, 404);
  });
});

describe('seat map', () => {
  it('seat map: every seat with price and live status; an expired hold counts as available at once', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    assert.equal(seats.length, 16);
    assert.ok(seats.every((s) => s.status === 'available'));
    assert.deepEqual(Object.keys(seats[0] ?? {}).sort(), ['aisleAfter', 'category', 'id', 'number', 'price', 'row', 'status']);
    assert.deepEqual(seats.slice(0, 2).map((s) => `${s.row}${s.number}`), ['A1', 'A2']);

    // Plant bookings straight in the database: a live hold, a lapsed hold and a sale. They
    // reach the seat-map cache through the trigger's NOTIFY: wait for the last one to arrive.
    const events = await watchSeatEvents(t, show.id);
    const [held, lapsed, sold] = [seats[0], seats[1], seats[2]].map((s) => s?.id ?? '') as [string, string, string];
    const plant = async (status: string, seatId: string, expires: string) => {
      const [b] = await t.sql<{ id: string }>(
        `INSERT INTO bookings (user_id, show_id, status, total, currency, expires_at, confirmed_at)
         VALUES ($1, $2, $3, 100, 'USD', now() + $4::interval, CASE WHEN $3 = 'confirmed' THEN now() END) RETURNING id`,
        [customer.id, show.id, status, expires],
      );
      await t.sql(`INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price) VALUES ($1, $2, $3, $4, 100)`, [b?.id, status, show.id, seatId]);
    };
    await plant('pending', held, '10 minutes');
    await plant('pending', lapsed, '-1 second');
    await plant('confirmed', sold, '-1 hour');
    await events.waitFor(seatIs(sold, 'booked'));
    events.close();
    const after = await seatMap(t, show.id);
    const status = Object.fromEntries(after.map((s) => [s.id, s.status]));
    assert.equal(status[held], 'held');
    assert.equal(status[lapsed], 'available');
    assert.equal(status[sold], 'booked');
    const got = await t.request<ShowBody>('GET', `/api/v1/shows/${show.id}`);
    assert.equal(got.body.availableSeats, 14);
  });

  it('seat map: ETag, 304 on If-None-Match, a new ETag once a seat changes', async () => {
    const show = await makeShow(t, admin);
    const first = await t.request('GET', `/api/v1/shows/${show.id}/seats`);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await t.request('GET', `/api/v1/shows/${show.id}/seats`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    const listed = await t.request('GET', `/api/v1/shows/${show.id}/seats`, { headers: { 'if-none-match': `"other", ${etag}` } });
    assert.equal(listed.status, 304);
    const events = await watchSeatEvents(t, show.id);
    await t.sql(
      `WITH b AS (INSERT INTO bookings (user_id, show_id, total, currency, expires_at) VALUES ($1, $2, 1, 'USD', now() + interval '5 minutes') RETURNING id)
       INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price)
       SELECT b.id, 'pending', $2, (SELECT id FROM show_seats WHERE show_id = $2 LIMIT 1), 1 FROM b`,
      [customer.id, show.id],
    );
    await events.waitFor((e) => e.seats.some((s) => s.status === 'held'));
    events.close();
    const changed = await t.request('GET', `/api/v1/shows/${show.id}/seats`, { headers: { 'if-none-match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
  });

  it('seat map: the aisles of the screen layout, copied to the show, on every path (a miss, a cached read, best-seats); none without', async () => {
    const rows = [
      { label: 'A', seats: 10, category: 'standard', aisles: [3, 7] },
      { label: 'B', seats: 10, category: 'standard', aisles: [7, 3] },
      { label: 'C', seats: 4, category: 'premium' },
    ];
    const show = await makeShow(t, admin, { rows });
    const aisles = (seats: { row: string; number: number; aisleAfter: boolean }[]) => seats.filter((s) => s.aisleAfter).map((s) => `${s.row}${s.number}`);
    t.app.services.shows.invalidateSeatMap(show.id);
    const miss = await seatMap(t, show.id);
    assert.deepEqual(aisles(miss), ['A3', 'A7', 'B3', 'B7']);
    assert.ok(miss.every((s) => typeof s.aisleAfter === 'boolean'));
    const hit = await countQueries(t, () => seatMap(t, show.id));
    assert.equal(hit.queries, 0, 'served from the cache');
    assert.deepEqual(hit.result, miss);
    const stored = await t.sql<{ seat: string }>(`SELECT row_label || number AS seat FROM show_seats WHERE show_id = $1 AND aisle_after ORDER BY row_index, number`, [show.id]);
    assert.deepEqual(stored.map((r) => r.seat), ['A3', 'A7', 'B3', 'B7'], "the show's own seats carry them");
    const best = await t.request<{ seats: { id: string; aisleAfter: boolean }[] }>('POST', `/api/v1/shows/${show.id}/best-seats`, { body: { count: 4 } });
    assert.equal(best.status, 200, best.text);
    const byId = new Map(miss.map((s) => [s.id, s.aisleAfter]));
    assert.ok(best.body.seats.length === 4 && best.body.seats.every((s) => s.aisleAfter === byId.get(s.id)), best.text);

    const plain = await makeShow(t, admin, { rows: [{ label: 'A', seats: 5, category: 'standard' }] });
    const seats = await seatMap(t, plain.id);
    assert.equal(seats.length, 5);
    assert.deepEqual(aisles(seats), []);
  });

  it('seat map: unknown show → 404', async () => {
    assert.equal((await t.request('GET', '/api/v1/shows/00000000-0000-4000-8000-000000000000/seats')).status, 404);
  });
});

describe('cancelling shows', () => {
  it('cancel: admin → 200 cancelled, again → 200 unchanged; customer → 403; a started show → 409', async () => {
    const show = await makeShow(t, admin);
    assert.equal((await t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: customer.token })).status, 403);
    const res = await t.request<ShowBody>('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    assert.equal(res.body.availableSeats, 0);
    const again = await t.request<ShowBody>('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token });
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'cancelled');

    const started = await makeShow(t, admin);
    await t.sql(`UPDATE shows SET starts_at = now() - interval '10 minutes' WHERE id = $1`, [started.id]);
    const late = await t.request<{ code: string }>('POST', `/api/v1/shows/${started.id}/cancel`, { token: admin.token });
    assert.equal(late.status, 409);
    assert.equal(late.body.code, 'SHOW_NOT_CANCELLABLE');
  });

  it('cancel: frees the slot for a new show on that screen', async () => {
    const movie = await makeMovie(t, admin);
    const screen = await makeScreen(t, admin);
    const startsAt = new Date(Date.now() + 50 * 24 * hour).toISOString();
    const show = await makeShow(t, admin, { movieId: movie.id, screenId: screen.id, startsAt });
    await t.request('POST', `/api/v1/shows/${show.id}/cancel`, { token: admin.token });
    const again = await t.request('POST', '/api/v1/shows', { token: admin.token, body: { movieId: movie.id, screenId: screen.id, startsAt, prices: { standard: 1, premium: 2 } } });
    assert.equal(again.status, 201);
  });
});
