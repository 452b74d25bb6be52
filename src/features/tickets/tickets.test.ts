/**
 * Tickets, HTTP in and rows out: issued on confirm (any path), listed with every booking,
 * void after a cancel, QR images, and check-in at the door, with its races.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { makeShow, seatMap, type SeatMapSeat, type Show } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, waitForLockWaiters, type HttpResult, type Page, type Problem, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { checkInvariants } from '../../../test/invariants.ts';
import { sign } from '../payments/webhook.ts';

interface Ticket {
  id: string;
  seatId: string;
  code: string;
  status: 'valid' | 'checked_in' | 'void';
  checkedInAt: string | null;
}
interface Booking {
  id: string;
  userId: string;
  showId: string;
  status: string;
  seats: { id: string; row: string; number: number; category: string; price: number }[];
  tickets: Ticket[];
  show: { startsAt: string };
}
interface CheckIn {
  ticket: Ticket;
  seat: { id: string; row: string; number: number; category: string };
  show: { id: string; startsAt: string; movie: { id: string; title: string }; theatre: { id: string; name: string; city: string }; screen: { id: string; name: string } };
  holderName: string;
}
type CheckInAnswer = CheckIn & Problem & { checkedInAt?: string; show?: CheckIn['show'] };

const WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';
let t: TestApp;
let admin: SignedIn;
let staff: SignedIn;
let users: SignedIn[];
let next = 0;
const user = () => {
  const u = users[next++];
  if (u === undefined) throw new Error('out of users');
  return u;
};

/** A customer made staff the way an admin does it (PATCH /users/:id), signed in again (a role change ends sessions). */
async function makeStaff(): Promise<SignedIn> {
  const [u] = (await makeUsers(t, 1)) as [SignedIn];
  const patched = await t.request('PATCH', `/api/v1/users/${u.id}`, { token: admin.token, body: { role: 'staff' } });
  assert.equal(patched.status, 200, patched.text);
  const login = await t.request<{ accessToken: string }>('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'correct horse battery' } });
  assert.equal(login.status, 200, login.text);
  return { ...u, token: login.body.accessToken };
}

before(async () => {
  t = await startTestApp({ MAX_PENDING_HOLDS_PER_USER: '50', MAX_SEATS_PER_USER_PER_SHOW: '0', AUTH_RATE_LIMIT_PER_MINUTE: '0' });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 80);
  staff = await makeStaff();
});
after(async () => {
  const report = await checkInvariants((q) => t.sql(q));
  await t.close();
  assert.deepEqual(report.violations, []);
});

async function freshShow(): Promise<{ show: Show; seats: SeatMapSeat[] }> {
  const show = await makeShow(t, admin);
  return { show, seats: await seatMap(t, show.id) };
}

async function hold(u: SignedIn, showId: string, seatIds: string[]): Promise<Booking> {
  const res = await t.request<Booking>('POST', '/api/v1/bookings', { token: u.token, body: { showId, seatIds } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function confirm(u: SignedIn, id: string): Promise<Booking> {
  const res = await t.request<Booking>('POST', `/api/v1/bookings/${id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

/** A confirmed booking of `n` seats of a fresh show (or of `on`). */
async function bought(n = 1, on?: { show: Show; seats: SeatMapSeat[] }, u = user()) {
  const { show, seats } = on ?? (await freshShow());
  const taken = new Set((await seatMap(t, show.id)).filter((s) => s.status !== 'available').map((s) => s.id));
  const free = seats.filter((s) => !taken.has(s.id)).slice(0, n);
  const booking = await confirm(u, (await hold(u, show.id, free.map((s) => s.id))).id);
  return { u, show, booking, ticket: booking.tickets[0] as Ticket };
}

const checkIn = (code: string, opts: { token?: string | undefined; showId?: string } = {}): Promise<HttpResult<CheckInAnswer>> =>
  t.request<CheckInAnswer>('POST', '/api/v1/tickets/check-in', {
    token: 'token' in opts ? opts.token : staff.token,
    body: { code, ...(opts.showId === undefined ? {} : { showId: opts.showId }) },
  });

/** The code with one character changed (to another URL-safe one). */
const tamper = (code: string, i = code.length - 5) => code.slice(0, i) + (code[i] === 'x' ? 'y' : 'x') + code.slice(i + 1);

const ticketRows = (bookingId: string) =>
  t.sql<{ id: string; show_seat_id: string; show_id: string; checked_in_at: Date | null; checked_in_by: string | null }>(
    `SELECT id, show_seat_id, show_id, checked_in_at, checked_in_by FROM tickets WHERE booking_id = $1 ORDER BY id`,
    [bookingId],
  );

describe('tickets of a booking', () => {
  it('hold → no tickets (pending); confirm → one valid ticket per seat, in the order of seats, whose codes verify to rows of this booking', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const held = await hold(u, show.id, [seats[5]?.id ?? '', seats[0]?.id ?? '', seats[1]?.id ?? '']);
    assert.deepEqual(held.tickets, []);
    assert.equal((await ticketRows(held.id)).length, 0);
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${held.id}`, { token: u.token });
    assert.deepEqual(got.body.tickets, []);

    const booking = await confirm(u, held.id);
    assert.equal(booking.status, 'confirmed');
    assert.equal(booking.tickets.length, 3);
    assert.deepEqual(booking.tickets.map((tk) => tk.seatId), booking.seats.map((s) => s.id), 'one per seat, in the order of seats');
    const rows = await ticketRows(booking.id);
    assert.deepEqual(rows.map((r) => r.id).sort(), booking.tickets.map((tk) => tk.id).sort());
    for (const tk of booking.tickets) {
      assert.equal(tk.status, 'valid');
      assert.equal(tk.checkedInAt, null);
      assert.match(tk.code, /^[A-Za-z0-9_-]+$/, 'URL-safe');
      assert.equal(t.app.services.ticketCodes.verify(tk.code), tk.id, 'the code verifies, offline, to its ticket');
      assert.equal(rows.find((r) => r.id === tk.id)?.show_seat_id, tk.seatId);
      assert.equal(rows.find((r) => r.id === tk.id)?.show_id, show.id);
    }
    assert.equal(new Set(booking.tickets.map((tk) => tk.code)).size, 3, 'every ticket its own code');
  });

  it('a code carries nothing personal: no name, e-mail, user, booking, seat or show, in the text or in its decoded bytes', async () => {
    const { u, booking, show } = await bought(2);
    const [row] = await t.sql<{ name: string; email: string }>('SELECT name, email FROM users WHERE id = $1', [u.id]);
    const hex = (id: string) => id.replace(/-/g, '');
    for (const tk of booking.tickets) {
      const decoded = Buffer.from(tk.code.slice(3), 'base64url').toString('hex');
      assert.equal(decoded.slice(0, 32), hex(tk.id), 'the ticket’s own random id …');
      assert.equal(decoded.length, 60, '… and a 14-byte tag, nothing else');
      for (const secret of [row?.name ?? '', row?.email ?? '', u.id, booking.id, show.id, tk.seatId, ...booking.seats.map((s) => `${s.row}${s.number}`)]) {
        assert.ok(!tk.code.toLowerCase().includes(secret.toLowerCase()), `code contains ${secret}`);
        if (/^[0-9a-f-]{36}$/.test(secret)) assert.ok(!decoded.includes(hex(secret)), `decoded code contains ${secret}`);
      }
    }
  });

  it('every answer with the booking carries the same tickets: confirm, GET, history, the admin’s list, a confirm again, a replayed hold', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const key = randomUUID();
    const first = await t.request<Booking>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seats[0]?.id, seats[1]?.id] }, headers: { 'Idempotency-Key': key } });
    assert.equal(first.status, 201, first.text);
    const confirmed = await confirm(u, first.body.id);
    const expected = JSON.stringify(confirmed.tickets);
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${confirmed.id}`, { token: u.token });
    const history = await t.request<Page<Booking>>('GET', '/api/v1/bookings', { token: u.token });
    const upcoming = await t.request<Page<Booking>>('GET', '/api/v1/bookings?when=upcoming', { token: u.token });
    const ofShow = await t.request<Page<Booking>>('GET', `/api/v1/shows/${show.id}/bookings`, { token: admin.token });
    const again = await confirm(u, confirmed.id);
    const replay = await t.request<Booking>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seats[0]?.id, seats[1]?.id] }, headers: { 'Idempotency-Key': key } });
    assert.equal(replay.status, 201, replay.text);
    for (const [name, tickets] of [
      ['GET', got.body.tickets],
      ['history', history.body.items.find((b) => b.id === confirmed.id)?.tickets],
      ['upcoming', upcoming.body.items.find((b) => b.id === confirmed.id)?.tickets],
      ['admin list', ofShow.body.items.find((b) => b.id === confirmed.id)?.tickets],
      ['confirm again', again.tickets],
      ['replayed hold', replay.body.tickets],
    ] as const) {
      assert.equal(JSON.stringify(tickets), expected, name);
    }
  });

  it('cancel → the same tickets, void at once, in the cancel’s answer and after; a void ticket at the door → 409 TICKET_VOID, nothing checked in', async () => {
    const { u, booking } = await bought(2);
    const cancelled = await t.request<Booking>('POST', `/api/v1/bookings/${booking.id}/cancel`, { token: u.token });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.deepEqual(cancelled.body.tickets.map((tk) => [tk.id, tk.code, tk.status]), booking.tickets.map((tk) => [tk.id, tk.code, 'void']));
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${booking.id}`, { token: u.token });
    assert.deepEqual(got.body.tickets, cancelled.body.tickets);
    const scan = await checkIn(booking.tickets[0]?.code ?? '');
    assert.equal(scan.status, 409, scan.text);
    assert.equal(scan.body.code, 'TICKET_VOID');
    assert.ok((await ticketRows(booking.id)).every((r) => r.checked_in_at === null));
  });

  it('the webhook confirming a booking (payment.succeeded) issues its tickets too', async () => {
    const { show, seats } = await freshShow();
    const u = user();
    const held = await hold(u, show.id, [seats[0]?.id ?? '', seats[1]?.id ?? '']);
    const raw = JSON.stringify({ id: `evt_${randomUUID()}`, type: 'payment.succeeded', bookingId: held.id, amount: 2000, currency: 'USD' });
    const [row] = await t.sql<{ total: number }>('SELECT total FROM bookings WHERE id = $1', [held.id]);
    const event = raw.replace('"amount":2000', `"amount":${row?.total ?? 0}`);
    const res = await t.request<{ outcome: string }>('POST', '/api/v1/payments/webhook', {
      rawBody: event,
      headers: { 'marquee-signature': sign(WEBHOOK_SECRET, Math.floor(Date.now() / 1000), event) },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.outcome, 'confirmed');
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${held.id}`, { token: u.token });
    assert.equal(got.body.status, 'confirmed');
    assert.equal(got.body.tickets.length, 2);
    assert.equal((await ticketRows(held.id)).length, 2);
    assert.equal((await checkIn(got.body.tickets[1]?.code ?? '')).status, 200);
  });

  it('the database refuses a second ticket for a seat of a booking, and a second check-in, whatever the code does', async () => {
    const { booking, ticket } = await bought(1);
    await assert.rejects(
      t.sql('INSERT INTO tickets (booking_id, show_seat_id, show_id) SELECT booking_id, show_seat_id, show_id FROM tickets WHERE id = $1', [ticket.id]),
      /tickets_one_per_seat/,
    );
    await t.sql(`UPDATE tickets SET checked_in_at = now(), checked_in_by = $2 WHERE id = $1`, [ticket.id, staff.id]);
    await assert.rejects(t.sql(`UPDATE tickets SET checked_in_at = now() WHERE id = $1`, [ticket.id]), /checked in already/);
    await assert.rejects(t.sql(`UPDATE tickets SET checked_in_at = NULL, checked_in_by = NULL WHERE id = $1`, [ticket.id]), /checked in already/);
    assert.equal((await ticketRows(booking.id)).length, 1);
  });
});

describe('QR images', () => {
  it('GET /tickets/{code}/qr.svg → 200 image/svg+xml for the owner, staff and admins, kept by the browser only; the same image every time', async () => {
    const { u, ticket } = await bought(1);
    const path = `/api/v1/tickets/${encodeURIComponent(ticket.code)}/qr.svg`;
    const res = await t.request('GET', path, { token: u.token });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.match(res.headers.get('cache-control') ?? '', /^private\b/, 'never in a shared cache: the code is the ticket');
    assert.ok(Number(/max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1]) >= 86_400 * 30);
    assert.match(res.text, /<svg[\s\S]*<\/svg>\s*$/);
    for (const who of [u, staff, admin]) {
      const again = await t.request('GET', path, { token: who.token });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.text, res.text);
    }
  });

  it('someone else’s ticket → 404 (as if there were none); no token → 401', async () => {
    const { ticket } = await bought(1);
    const path = `/api/v1/tickets/${encodeURIComponent(ticket.code)}/qr.svg`;
    const other = await t.request<Problem>('GET', path, { token: user().token });
    assert.equal(other.status, 404, other.text);
    assert.equal(other.body.code, 'NOT_FOUND');
    assert.ok(!other.text.includes('<svg'));
    const anonymous = await t.request<Problem>('GET', path);
    assert.equal(anonymous.status, 401, anonymous.text);
  });

  it('a tampered, made-up or over-long code → 404 problem, not an image', async () => {
    const { ticket } = await bought(1);
    for (const code of [tamper(ticket.code), tamper(ticket.code, 3), 'mq1' + 'A'.repeat(40), 'hello', 'x'.repeat(500)]) {
      const res = await t.request<Problem>('GET', `/api/v1/tickets/${encodeURIComponent(code)}/qr.svg`, { token: admin.token });
      assert.equal(res.status, 404, `${code}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      assert.equal(res.body.code, 'NOT_FOUND');
    }
  });
});

describe('check-in', () => {
  it('first scan → 200 with the ticket checked in, seat, show and holderName; the row says when and by whom; the booking shows it', async () => {
    const { u, show, booking, ticket } = await bought(1);
    const before = Date.now();
    const res = await checkIn(ticket.code, { showId: show.id });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.body), ['ticket', 'seat', 'show', 'holderName']);
    assert.equal(res.body.ticket.id, ticket.id);
    assert.equal(res.body.ticket.code, ticket.code);
    assert.equal(res.body.ticket.status, 'checked_in');
    assert.ok(Date.parse(res.body.ticket.checkedInAt ?? '') >= before - 1000);
    const seat = booking.seats[0];
    assert.deepEqual(res.body.seat, { id: seat?.id, row: seat?.row, number: seat?.number, category: seat?.category });
    assert.equal(res.body.show.id, show.id);
    assert.equal(res.body.show.startsAt, booking.show.startsAt);
    assert.equal(res.body.show.movie.id, show.movieId);
    assert.equal(res.body.show.theatre.id, show.theatreId);
    assert.equal(res.body.show.screen.id, show.screenId);
    assert.equal(res.body.holderName, 'Bulk User');
    const [row] = await ticketRows(booking.id);
    assert.equal(row?.checked_in_by, staff.id);
    assert.equal(row?.checked_in_at?.toISOString(), res.body.ticket.checkedInAt);
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${booking.id}`, { token: u.token });
    assert.deepEqual(got.body.tickets, [res.body.ticket]);
  });

  it('second scan → 409 ALREADY_CHECKED_IN with the first scan’s time; the row keeps the first', async () => {
    const { booking, ticket } = await bought(1);
    const first = await checkIn(ticket.code);
    assert.equal(first.status, 200, first.text);
    const second = await checkIn(ticket.code);
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.code, 'ALREADY_CHECKED_IN');
    assert.equal(second.body.checkedInAt, first.body.ticket.checkedInAt);
    assert.match(second.body.detail, /checked in/);
    const [row] = await ticketRows(booking.id);
    assert.equal(row?.checked_in_at?.toISOString(), first.body.ticket.checkedInAt);
  });

  it('race: 10 scanners send the same code at once to the running server → exactly one 200, nine 409 ALREADY_CHECKED_IN with its time, one checked_in_at', async () => {
    const scanners = [staff, ...(await Promise.all(Array.from({ length: 4 }, () => makeStaff()))), admin];
    for (let round = 0; round < 3; round++) {
      const { booking, ticket } = await bought(1);
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => checkIn(ticket.code, { token: scanners[i % scanners.length]?.token })));
      const ok = answers.filter((a) => a.status === 200);
      assert.equal(ok.length, 1, answers.map((a) => `${a.status} ${a.body.code}`).join(', '));
      const refused = answers.filter((a) => a.status !== 200);
      assert.ok(refused.every((a) => a.status === 409 && a.body.code === 'ALREADY_CHECKED_IN' && a.body.checkedInAt === ok[0]?.body.ticket.checkedInAt));
      const rows = await t.sql<{ n: number }>('SELECT count(*)::int AS n FROM tickets WHERE booking_id = $1 AND checked_in_at IS NOT NULL', [booking.id]);
      assert.equal(rows[0]?.n, 1);
    }
  });

  it('with showId of another show → 409 WRONG_SHOW naming the ticket’s show, nothing checked in; with its own show → 200', async () => {
    const { show, booking, ticket } = await bought(1);
    const other = await makeShow(t, admin);
    const res = await checkIn(ticket.code, { showId: other.id });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.code, 'WRONG_SHOW');
    assert.equal(res.body.show?.id, show.id);
    assert.equal(res.body.show?.startsAt, booking.show.startsAt);
    assert.equal((await ticketRows(booking.id))[0]?.checked_in_at, null);
    assert.equal((await checkIn(ticket.code, { showId: show.id })).status, 200);
  });

  it('a tampered code (one character changed), a made-up one, or a valid-looking code of no ticket → 404; nothing checked in', async () => {
    const { booking, ticket } = await bought(1);
    const noTicket = t.app.services.ticketCodes.encode(randomUUID());
    for (const code of [tamper(ticket.code), tamper(ticket.code, 10), ticket.code.slice(0, -1), ticket.code.toUpperCase(), 'not-a-ticket', noTicket]) {
      const res = await checkIn(code);
      assert.equal(res.status, 404, `${code}: ${res.text}`);
      assert.equal(res.body.code, 'NOT_FOUND');
    }
    assert.equal((await ticketRows(booking.id))[0]?.checked_in_at, null);
  });

  it('a customer (even the ticket’s holder) → 403; no token → 401; nothing checked in; an admin may', async () => {
    const { u, booking, ticket } = await bought(1);
    const mine = await checkIn(ticket.code, { token: u.token });
    assert.equal(mine.status, 403, mine.text);
    assert.equal(mine.body.code, 'FORBIDDEN');
    assert.equal((await checkIn(ticket.code, { token: user().token })).status, 403);
    assert.equal((await checkIn(ticket.code, { token: undefined })).status, 401);
    assert.equal((await ticketRows(booking.id))[0]?.checked_in_at, null);
    assert.equal((await checkIn(ticket.code, { token: admin.token })).status, 200);
  });

  it('staff is staff for check-in only: a staff token cannot create a movie or read another’s booking', async () => {
    const { booking } = await bought(1);
    assert.equal((await t.request('POST', '/api/v1/movies', { token: staff.token, body: { title: 'X', durationMinutes: 90, language: 'English' } })).status, 403);
    assert.equal((await t.request('GET', `/api/v1/bookings/${booking.id}`, { token: staff.token })).status, 404);
  });
});

describe('cancel after check-in', () => {
  it('a booking with a checked-in ticket → cancel 409 BOOKING_NOT_CANCELLABLE saying so; the seats stay sold, the payment kept, the ticket checked in', async () => {
    const { u, show, booking, ticket } = await bought(2);
    assert.equal((await checkIn(ticket.code)).status, 200);
    for (const who of [u, admin]) {
      const res = await t.request<Problem>('POST', `/api/v1/bookings/${booking.id}/cancel`, { token: who.token });
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.code, 'BOOKING_NOT_CANCELLABLE');
      assert.match(res.body.detail, /checked in/);
    }
    const map = await seatMap(t, show.id);
    for (const s of booking.seats) assert.equal(map.find((m) => m.id === s.id)?.status, 'booked');
    const [b] = await t.sql<{ status: string }>('SELECT status FROM bookings WHERE id = $1', [booking.id]);
    assert.equal(b?.status, 'confirmed');
    const pays = await t.sql<{ status: string }>('SELECT status FROM payments WHERE booking_id = $1', [booking.id]);
    assert.deepEqual(pays.map((p) => p.status), ['succeeded']);
    const got = await t.request<Booking>('GET', `/api/v1/bookings/${booking.id}`, { token: u.token });
    assert.deepEqual(got.body.tickets.map((tk) => tk.status), booking.tickets.map((tk) => (tk.id === ticket.id ? 'checked_in' : 'valid')));
  });

  it('a check-in waits for a cancel holding the booking row, then finds the ticket void (the check-in locks the booking first)', async () => {
    const { booking, ticket } = await bought(1);
    const locker = new pg.Client({ connectionString: t.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR UPDATE', [booking.id]);
      const scan = checkIn(ticket.code);
      let answered = false;
      void scan.then(() => (answered = true));
      await waitForLockWaiters(t, 1, (w) => w.query.includes('ticket_check_in'));
      assert.equal(answered, false, 'the check-in waits for the booking row');
      await locker.query(`UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [booking.id]);
      await locker.query(`UPDATE payments SET status = 'refund_pending' WHERE booking_id = $1 AND status = 'succeeded'`, [booking.id]);
      await locker.query('COMMIT');
      const res = await scan;
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.code, 'TICKET_VOID');
      assert.equal((await ticketRows(booking.id))[0]?.checked_in_at, null);
    } finally {
      await locker.end();
    }
    await t.app.services.paymentService.refund({ bookingIds: [booking.id] });
  });

  it('a cancel waits for a check-in holding the booking row, then is refused (booking_cancel reads the tickets under its lock)', async () => {
    const { u, booking, ticket } = await bought(1);
    const locker = new pg.Client({ connectionString: t.databaseUrl });
    await locker.connect();
    try {
      // A check-in half done: the booking row shared, the ticket checked in, not yet committed.
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM bookings WHERE id = $1 FOR SHARE', [booking.id]);
      await locker.query('UPDATE tickets SET checked_in_at = now(), checked_in_by = $2 WHERE id = $1', [ticket.id, staff.id]);
      const cancel = t.request<Problem>('POST', `/api/v1/bookings/${booking.id}/cancel`, { token: u.token });
      await waitForLockWaiters(t, 1, (w) => w.query.includes('booking_cancel'));
      await locker.query('COMMIT');
      const res = await cancel;
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.code, 'BOOKING_NOT_CANCELLABLE');
    } finally {
      await locker.end();
    }
  });

  it('race: cancel and check-in of the same booking at once, 20 times → one of them wins each time; never a cancelled booking with a checked-in ticket', async () => {
    const { show, seats } = await freshShow();
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const { u, booking, ticket } = await bought(1, { show, seats });
      const [cancel, scan] = await Promise.all([
        t.request<Problem>('POST', `/api/v1/bookings/${booking.id}/cancel`, { token: u.token }),
        checkIn(ticket.code),
      ]);
      const key = `cancel ${cancel.status} ${cancel.body.code ?? ''} / check-in ${scan.status} ${scan.body.code ?? ''}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      assert.ok(
        (cancel.status === 200 && scan.status === 409 && scan.body.code === 'TICKET_VOID') ||
          (scan.status === 200 && cancel.status === 409 && cancel.body.code === 'BOOKING_NOT_CANCELLABLE'),
        key,
      );
    }
    const bad = await t.sql(
      `SELECT b.id FROM bookings b JOIN tickets tk ON tk.booking_id = b.id WHERE b.status = 'cancelled' AND tk.checked_in_at IS NOT NULL`,
    );
    assert.deepEqual(bad, [], JSON.stringify([...outcomes]));
  });
});

describe('history: when=upcoming|past', () => {
  it('upcoming: shows after now, soonest first; past: shows already started, latest first; unset: every booking, newest first', async () => {
    const u = user();
    const made: { id: string; startsAt: Date }[] = [];
    for (const offsetHours of [30, -5, 10, -50, 70]) {
      const { booking, show } = await bought(1, undefined, u);
      const startsAt = new Date(Date.now() + offsetHours * 3600_000);
      // Shows cannot be created in the past through the API: the clock moves instead.
      await t.sql(`UPDATE shows SET starts_at = $2, ends_at = $2::timestamptz + interval '2 hours', busy_until = $2::timestamptz + interval '3 hours' WHERE id = $1`, [
        show.id,
        startsAt,
      ]);
      made.push({ id: booking.id, startsAt });
    }
    const ids = async (query: string) => {
      const res = await t.request<Page<Booking>>('GET', `/api/v1/bookings${query}`, { token: u.token });
      assert.equal(res.status, 200, res.text);
      return res.body.items.map((b) => b.id);
    };
    const by = (f: (m: { startsAt: Date }) => boolean, dir: 1 | -1) =>
      made.filter(f).sort((a, b) => dir * (a.startsAt.getTime() - b.startsAt.getTime())).map((m) => m.id);
    assert.deepEqual(await ids('?when=upcoming'), by((m) => m.startsAt.getTime() > Date.now(), 1));
    assert.deepEqual(await ids('?when=past'), by((m) => m.startsAt.getTime() <= Date.now(), -1));
    assert.deepEqual(await ids(''), [...made].reverse().map((m) => m.id), 'unchanged without when: newest booking first');
    // Paged one at a time, the cursor follows the same order.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: HttpResult<Page<Booking>> = await t.request<Page<Booking>>('GET', `/api/v1/bookings?when=upcoming&limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, { token: u.token });
      paged.push(...page.body.items.map((b) => b.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(paged, by((m) => m.startsAt.getTime() > Date.now(), 1));
    const bad = await t.request<Problem>('GET', '/api/v1/bookings?when=tomorrow', { token: u.token });
    assert.equal(bad.status, 422);
  });
});
