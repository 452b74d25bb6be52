/**
 * The authorization matrix: every endpoint × {anonymous, customer (owner), other customer,
 * staff, admin}, with the expected status of each cell, from one table. A new endpoint without a
 * row fails the first test. Staff (ushers) are customers but for ticket check-in: a row's staff
 * cell is its other-customer cell unless the row says otherwise.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeMovie, makeScreen, makeShow, makeTheatre, seatMap, type SeatMapSeat, type Show } from './builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type SignedIn, type TestApp } from './helpers.ts';

type Who = 'anonymous' | 'customer' | 'other' | 'staff' | 'admin';
const WHO: Who[] = ['anonymous', 'customer', 'other', 'staff', 'admin'];

interface Cell {
  path: string;
  body?: unknown;
  /** A token of a throw-away user in the cell's role, for calls that end the caller's own sessions. */
  token?: string;
}
interface Row {
  method: string;
  route: string;
  /** anonymous, customer, other, admin. */
  expect: [number, number, number, number];
  /** The staff cell, when it differs from the other customer's. */
  staff?: number;
  /** Builds a fresh request for one cell (state-changing calls get their own resources). */
  make: (who: Who) => Promise<Cell>;
}

let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
let other: SignedIn;
let staff: SignedIn;
let spare: SignedIn[];
let show: Show;
let seats: SeatMapSeat[];
let seatCursor = 0;
const tokenOf = (who: Who) => ({ anonymous: undefined, customer: customer.token, other: other.token, staff: staff.token, admin: admin.token })[who];
const expected = (row: Row, who: Who): number => {
  const [anonymous, own, others, adminStatus] = row.expect;
  return { anonymous, customer: own, other: others, staff: row.staff ?? others, admin: adminStatus }[who];
};

/** A user made staff in the database (as PATCH /users/:id does), with a token of the version that bumped. */
async function makeStaff(): Promise<SignedIn> {
  const [u] = (await makeUsers(t, 1)) as [SignedIn];
  const [row] = await t.sql<{ token_version: number }>(`UPDATE users SET role = 'staff' WHERE id = $1 RETURNING token_version`, [u.id]);
  return { ...u, token: await t.app.services.tokens.signAccess({ id: u.id, role: 'staff', tokenVersion: row?.token_version ?? 0 }) };
}

before(async () => {
  // One customer makes a booking of the same show for every row: no per-show seat cap here.
  t = await startTestApp({ MAX_PENDING_HOLDS_PER_USER: '50', AUTH_RATE_LIMIT_PER_MINUTE: '0', MAX_SEATS_PER_USER_PER_SHOW: '0' });
  admin = await signUpAdmin(t);
  [customer, other, ...spare] = (await makeUsers(t, 4)) as [SignedIn, SignedIn, SignedIn, SignedIn];
  staff = await makeStaff();
  show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 60, category: 'standard' }] });
  seats = await seatMap(t, show.id);
});
after(async () => {
  await t.close();
});

const nextSeat = () => (seats[seatCursor++] as SeatMapSeat).id;
async function customerBooking(): Promise<string> {
  const res = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: customer.token, body: { showId: show.id, seatIds: [nextSeat()] } });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}
/** A ticket code of a fresh confirmed booking of the customer. */
async function ticketCode(): Promise<string> {
  const id = await customerBooking();
  const res = await t.request<{ tickets: { code: string }[] }>('POST', `/api/v1/bookings/${id}/confirm`, { token: customer.token, body: { paymentToken: 'tok_visa' } });
  assert.equal(res.status, 200, res.text);
  return res.body.tickets[0]?.code ?? '';
}
/** For anyone but the anonymous caller, the token of a fresh user in the caller's role. */
const throwAway = async (who: Who): Promise<{ token?: string }> =>
  who === 'anonymous' ? {} : { token: who === 'staff' ? (await makeStaff()).token : ((await makeUsers(t, 1, who === 'admin' ? 'admin' : 'customer'))[0] as SignedIn).token };
const fixed = (path: string, body?: unknown) => () => Promise.resolve({ path, ...(body === undefined ? {} : { body }) });
const movieBody = () => ({ title: `M ${randomUUID()}`, durationMinutes: 90, language: 'English' });
const theatreBody = () => ({ name: `T ${randomUUID()}`, city: 'Oslo', address: 'Street 1' });
const screenBody = () => ({ name: `S ${randomUUID()}`, rows: [{ label: 'A', seats: 4, category: 'standard' }] });

const ROWS: Row[] = [
  { method: 'POST', route: '/api/v1/auth/register', expect: [201, 201, 201, 201], make: () => Promise.resolve({ path: '/api/v1/auth/register', body: { email: `${randomUUID()}@example.com`, password: 'password123', name: 'N' } }) },
  { method: 'POST', route: '/api/v1/auth/login', expect: [401, 401, 401, 401], make: fixed('/api/v1/auth/login', { email: 'nobody@example.com', password: 'wrong-password' }) },
  { method: 'POST', route: '/api/v1/auth/refresh', expect: [401, 401, 401, 401], make: fixed('/api/v1/auth/refresh', { refreshToken: 'rt_nope' }) },
  { method: 'POST', route: '/api/v1/auth/logout', expect: [204, 204, 204, 204], make: fixed('/api/v1/auth/logout', { refreshToken: 'rt_nope' }) },
  { method: 'GET', route: '/api/v1/me', expect: [401, 200, 200, 200], make: fixed('/api/v1/me') },
  { method: 'POST', route: '/api/v1/auth/logout-all', expect: [401, 204, 204, 204], make: async (who) => ({ path: '/api/v1/auth/logout-all', ...(await throwAway(who)) }) },
  { method: 'PATCH', route: '/api/v1/users/{id}', expect: [401, 403, 403, 200], make: async () => ({ path: `/api/v1/users/${((await makeUsers(t, 1))[0] as SignedIn).id}`, body: { role: 'staff' } }) },

  { method: 'GET', route: '/api/v1/movies', expect: [200, 200, 200, 200], make: fixed('/api/v1/movies') },
  { method: 'GET', route: '/api/v1/movies/{id}', expect: [200, 200, 200, 200], make: async () => ({ path: `/api/v1/movies/${(await makeMovie(t, admin)).id}` }) },
  { method: 'POST', route: '/api/v1/movies', expect: [401, 403, 403, 201], make: () => Promise.resolve({ path: '/api/v1/movies', body: movieBody() }) },
  { method: 'PATCH', route: '/api/v1/movies/{id}', expect: [401, 403, 403, 200], make: async () => ({ path: `/api/v1/movies/${(await makeMovie(t, admin)).id}`, body: { title: 'Renamed' } }) },
  { method: 'DELETE', route: '/api/v1/movies/{id}', expect: [401, 403, 403, 204], make: async () => ({ path: `/api/v1/movies/${(await makeMovie(t, admin)).id}` }) },

  { method: 'GET', route: '/api/v1/theatres', expect: [200, 200, 200, 200], make: fixed('/api/v1/theatres') },
  { method: 'GET', route: '/api/v1/theatres/{id}', expect: [200, 200, 200, 200], make: async () => ({ path: `/api/v1/theatres/${(await makeTheatre(t, admin)).id}` }) },
  { method: 'POST', route: '/api/v1/theatres', expect: [401, 403, 403, 201], make: () => Promise.resolve({ path: '/api/v1/theatres', body: theatreBody() }) },
  { method: 'PATCH', route: '/api/v1/theatres/{id}', expect: [401, 403, 403, 200], make: async () => ({ path: `/api/v1/theatres/${(await makeTheatre(t, admin)).id}`, body: { city: 'Bergen' } }) },
  { method: 'DELETE', route: '/api/v1/theatres/{id}', expect: [401, 403, 403, 204], make: async () => ({ path: `/api/v1/theatres/${(await makeTheatre(t, admin)).id}` }) },
  { method: 'POST', route: '/api/v1/theatres/{id}/screens', expect: [401, 403, 403, 201], make: async () => ({ path: `/api/v1/theatres/${(await makeTheatre(t, admin)).id}/screens`, body: screenBody() }) },
  { method: 'GET', route: '/api/v1/screens/{id}', expect: [200, 200, 200, 200], make: async () => ({ path: `/api/v1/screens/${(await makeScreen(t, admin)).id}` }) },

  { method: 'GET', route: '/api/v1/shows', expect: [200, 200, 200, 200], make: fixed('/api/v1/shows') },
  { method: 'GET', route: '/api/v1/shows/{id}', expect: [200, 200, 200, 200], make: () => Promise.resolve({ path: `/api/v1/shows/${show.id}` }) },
  {
    method: 'POST',
    route: '/api/v1/shows',
    expect: [401, 403, 403, 201],
    make: async () => ({ path: '/api/v1/shows', body: { movieId: (await makeMovie(t, admin)).id, screenId: (await makeScreen(t, admin)).id, startsAt: new Date(Date.now() + 86_400_000).toISOString(), prices: { standard: 1000, premium: 1500 } } }),
  },
  { method: 'POST', route: '/api/v1/shows/{id}/cancel', expect: [401, 403, 403, 200], make: async () => ({ path: `/api/v1/shows/${(await makeShow(t, admin)).id}/cancel` }) },
  { method: 'GET', route: '/api/v1/shows/{id}/seats', expect: [200, 200, 200, 200], make: () => Promise.resolve({ path: `/api/v1/shows/${show.id}/seats` }) },
  { method: 'GET', route: '/api/v1/shows/{id}/seats/stream', expect: [200, 200, 200, 200], make: () => Promise.resolve({ path: `/api/v1/shows/${show.id}/seats/stream` }) },
  { method: 'POST', route: '/api/v1/shows/{id}/best-seats', expect: [200, 200, 200, 200], make: () => Promise.resolve({ path: `/api/v1/shows/${show.id}/best-seats`, body: { count: 2 } }) },
  { method: 'GET', route: '/api/v1/shows/{id}/bookings', expect: [401, 403, 403, 200], make: () => Promise.resolve({ path: `/api/v1/shows/${show.id}/bookings` }) },

  { method: 'POST', route: '/api/v1/bookings', expect: [401, 201, 201, 201], make: () => Promise.resolve({ path: '/api/v1/bookings', body: { showId: show.id, seatIds: [nextSeat()] } }) },
  { method: 'GET', route: '/api/v1/bookings', expect: [401, 200, 200, 200], make: fixed('/api/v1/bookings') },
  { method: 'GET', route: '/api/v1/bookings/{id}', expect: [401, 200, 404, 200], make: async () => ({ path: `/api/v1/bookings/${await customerBooking()}` }) },
  { method: 'POST', route: '/api/v1/bookings/{id}/confirm', expect: [401, 200, 404, 200], make: async () => ({ path: `/api/v1/bookings/${await customerBooking()}/confirm`, body: { paymentToken: 'tok_visa' } }) },
  { method: 'POST', route: '/api/v1/bookings/{id}/cancel', expect: [401, 200, 404, 200], make: async () => ({ path: `/api/v1/bookings/${await customerBooking()}/cancel` }) },

  { method: 'POST', route: '/api/v1/tickets/check-in', expect: [401, 403, 403, 200], staff: 200, make: async () => ({ path: '/api/v1/tickets/check-in', body: { code: await ticketCode() } }) },
  { method: 'GET', route: '/api/v1/tickets/{code}/qr.svg', expect: [401, 200, 404, 200], staff: 200, make: async () => ({ path: `/api/v1/tickets/${encodeURIComponent(await ticketCode())}/qr.svg` }) },

  { method: 'POST', route: '/api/v1/payments/webhook', expect: [401, 401, 401, 401], make: fixed('/api/v1/payments/webhook', { id: 'evt', type: 'payment.succeeded', bookingId: randomUUID(), amount: 1, currency: 'USD' }) },
];

it('matrix: every endpoint of the OpenAPI document has a row, and every row an endpoint', async () => {
  const doc = await t.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
  const documented = Object.entries(doc.body.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  const tabled = ROWS.map((r) => `${r.method} ${r.route}`).sort();
  assert.deepEqual(tabled, documented);
});

describe('matrix', () => {
  for (const row of ROWS) {
    it(`${row.method} ${row.route}: ${WHO.map((w) => `${w} ${expected(row, w)}`).join(', ')}`, async () => {
      for (const who of WHO) {
        const cell = await row.make(who);
        let status: number;
        if (row.route.endsWith('/stream')) {
          const ctrl = new AbortController();
          const res = await fetch(t.url + cell.path, { signal: ctrl.signal, headers: tokenOf(who) ? { authorization: `Bearer ${tokenOf(who)}` } : {} });
          status = res.status;
          ctrl.abort();
        } else {
          const res = await t.request(row.method, cell.path, { token: cell.token ?? tokenOf(who), ...(cell.body === undefined ? {} : { body: cell.body }) });
          status = res.status;
          if (status >= 400) assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
        }
        assert.equal(status, expected(row, who), `${who}: expected ${expected(row, who)}, got ${status}`);
      }
    });
  }
});

it('matrix: a token of a spare user works like any customer token (no hidden state)', async () => {
  const u = spare[0] as SignedIn;
  assert.equal((await t.request('GET', '/api/v1/me', { token: u.token })).status, 200);
});
