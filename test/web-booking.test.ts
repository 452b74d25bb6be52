/**
 * The booking web app (`/`) in a real browser (playwright-core driving chromium-headless-shell):
 * booking two seats end to end with a sign-up on the way, a seat turning unavailable live in a
 * second browser, a declined card, a 409 on a seat taken meanwhile, and the keyboard. Every
 * check ends in the database or in what the page shows, never in the page's own state.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot, settle, skipBrowser, until, watchPage } from './browser.ts';
import { makeMovie, makeScreen, makeShow, makeTheatre, seatMap, type SeatMapSeat, type Show } from './builders.ts';
import { signUp, signUpAdmin, type SignedIn, type TestApp, startTestApp } from './helpers.ts';

/** Wide enough (16 seats) that a 375 px phone scrolls the map sideways, with three categories. */
const ROWS = [
  { label: 'A', seats: 10, category: 'accessible' },
  { label: 'B', seats: 14, category: 'standard' },
  { label: 'C', seats: 14, category: 'standard' },
  { label: 'D', seats: 14, category: 'standard' },
  { label: 'E', seats: 16, category: 'premium' },
  { label: 'F', seats: 16, category: 'premium' },
];
const PRICES = { accessible: 900, standard: 1200, premium: 1650 };
const GOOD_CARD = '4242 4242 4242 4242';
const DECLINED_CARD = '4000 0000 0000 0002';

describe('booking web app in Chromium', { skip: skipBrowser }, () => {
  let t: TestApp;
  let browser: Browser;
  let admin: SignedIn;
  const contexts: BrowserContext[] = [];

  before(async () => {
    t = await startTestApp();
    browser = await launchBrowser();
    admin = await signUpAdmin(t);
  });
  afterEach(async () => {
    // Each test's pages go, and their live streams with them.
    for (const c of contexts.splice(0)) await c.close();
  });
  after(async () => {
    await browser.close();
    await t.close();
  });

  async function newShow(): Promise<{ show: Show; seats: SeatMapSeat[]; seat: (row: string, n: number) => SeatMapSeat }> {
    const show = await makeShow(t, admin, { rows: ROWS, prices: PRICES });
    const seats = await seatMap(t, show.id);
    const seat = (row: string, n: number) => {
      const s = seats.find((x) => x.row === row && x.number === n);
      assert.ok(s, `seat ${row}${n}`);
      return s;
    };
    return { show, seats, seat };
  }

  /** A fresh browser context (its own storage), signed in as `user` when given. */
  async function open(path: string, opts: { user?: SignedIn; viewport?: { width: number; height: number } } = {}): Promise<{ page: Page; problems: () => string[] }> {
    // Signed in as the page keeps it: the token pair in localStorage.
    const localStorage =
      opts.user === undefined ? [] : [{ name: 'marquee.tokens', value: JSON.stringify({ accessToken: opts.user.token, refreshToken: opts.user.refreshToken }) }];
    const context = await browser.newContext({
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      storageState: { cookies: [], origins: [{ origin: new URL(t.url).origin, localStorage }] },
    });
    contexts.push(context);
    const page = await context.newPage();
    const watched = watchPage(page);
    await page.goto(`${t.url}${path}`);
    // Leaving a show page aborts its seat stream on purpose: not a problem.
    const problems = () => watched.problems().filter((p) => !/^failed: .*\/seats\/stream net::ERR_ABORTED$/.test(p));
    return { page, problems };
  }

  const seatButton = (page: Page, s: SeatMapSeat) => page.locator(`button.seat[data-seat-id="${s.id}"]`);
  const waitLive = (page: Page) => page.locator('.live[data-live="true"]').waitFor({ timeout: 10_000 });

  it('signs up on the way, books two seats end to end (pick, hold, countdown, pay), sees both tickets with QR codes on My bookings; one confirmed booking of two seats in the database', async () => {
    const { show, seat } = await newShow();
    // Others were here first: two seats held, three bought.
    const [holder, buyer] = [await signUp(t), await signUp(t)];
    const held = await t.request('POST', '/api/v1/bookings', { token: holder.token, body: { showId: show.id, seatIds: [seat('B', 5).id, seat('B', 6).id] } });
    assert.equal(held.status, 201, held.text);
    const bought = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: buyer.token, body: { showId: show.id, seatIds: [seat('D', 9).id, seat('D', 10).id, seat('D', 11).id] } });
    assert.equal(bought.status, 201, bought.text);
    const paid = await t.request('POST', `/api/v1/bookings/${bought.body.id}/confirm`, { token: buyer.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(paid.status, 200, paid.text);

    const { page, problems } = await open('/');
    // Browse: the show is listed with its theatre, screen and seats left.
    const card = page.locator(`a[data-show-id="${show.id}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), new RegExp(`${show.totalSeats - 5} of ${show.totalSeats} seats left`));
    await card.click();
    await waitLive(page);
    assert.equal(await seatButton(page, seat('B', 5)).getAttribute('data-status'), 'held');
    assert.equal(await seatButton(page, seat('D', 10)).getAttribute('data-status'), 'sold');
    assert.match((await seatButton(page, seat('D', 10)).getAttribute('aria-label')) ?? '', /^Row D, seat 10, standard, \$12\.00, sold$/);
    const [a, b] = [seat('C', 7), seat('C', 8)];
    await seatButton(page, a).click();
    await seatButton(page, b).click();
    assert.equal(await seatButton(page, a).getAttribute('aria-pressed'), 'true');
    assert.match((await page.locator('#total').innerText()).replace(/\s/g, ''), /\$24\.00/);
    await settle(page);
    await screenshot(page, 'seat-map');

    // Holding needs a sign-in: to the sign-in page, on to sign-up, and back with the seats still picked.
    await page.locator('#hold').click();
    await page.waitForURL(/#\/signin\?next=/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(`ada-${Date.now()}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(new RegExp(`#/shows/${show.id}$`));
    await page.locator('#who', { hasText: 'Ada Lovelace' }).waitFor();
    assert.equal(await seatButton(page, a).getAttribute('aria-pressed'), 'true', 'picked seats survive the sign-up');
    assert.equal(await seatButton(page, b).getAttribute('aria-pressed'), 'true');

    await page.locator('#hold').click();
    const countdown = page.locator('#countdown');
    await countdown.waitFor();
    const first = await countdown.innerText();
    assert.match(first, /\d+:\d\d/);
    await page.locator('#countdown').filter({ hasNotText: first }).waitFor({ timeout: 3000 }); // it ticks
    assert.equal(await seatButton(page, a).getAttribute('data-status'), 'yours');

    await page.getByLabel('Card number').fill(GOOD_CARD);
    await page.locator('#pay').click();
    const confirmation = page.locator('#confirmation');
    await confirmation.waitFor();
    assert.match(await confirmation.innerText(), /Booking confirmed/);
    assert.equal(await confirmation.locator('.ticket').count(), 2);
    await screenshot(page, 'booking-confirmed');

    await page.getByRole('link', { name: 'My bookings' }).first().click();
    const booking = page.locator('article.booking').first();
    await booking.waitFor();
    assert.match(await booking.innerText(), /Confirmed/);
    assert.match(await booking.innerText(), /Row C, seats 7 and 8/i);
    const qrs = booking.locator('img.qr');
    assert.equal(await qrs.count(), 2);
    await until(page, "[...document.querySelectorAll('article.booking img.qr')].every((img) => img.complete && img.naturalWidth > 0)", 'the QR images to load');
    const widths: unknown = await page.evaluate("[...document.querySelectorAll('article.booking img.qr')].map((img) => img.naturalWidth)");
    assert.ok(Array.isArray(widths) && widths.length === 2 && widths.every((w) => typeof w === 'number' && w > 0), `QR images loaded: ${JSON.stringify(widths)}`);
    for (const code of await booking.locator('.ticket-code').allInnerTexts()) assert.match(code, /^[A-Za-z0-9._~-]{16,}$/);
    await screenshot(page, 'my-bookings', true);

    const rows = await t.sql<{ status: string; seats: number; email: string }>(
      `SELECT b.status, (SELECT count(*)::int FROM booking_seats bs WHERE bs.booking_id = b.id) AS seats, u.email
         FROM bookings b JOIN users u ON u.id = b.user_id WHERE b.show_id = $1 AND u.id <> ALL($2::uuid[])`,
      [show.id, [holder.id, buyer.id]],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.status, 'confirmed');
    assert.equal(rows[0]?.seats, 2);
    assert.match(rows[0]?.email ?? '', /^ada-/);
    assert.deepEqual(problems(), []);
  });

  it('a second browser watching the show sees a seat held by the first turn unavailable within a second, without a reload; its own pick of that seat is dropped and announced', async () => {
    const { show, seat } = await newShow();
    const holder = await signUp(t);
    const first = await open(`/#/shows/${show.id}`, { user: holder });
    const second = await open(`/#/shows/${show.id}`);
    await Promise.all([waitLive(first.page), waitLive(second.page)]);
    const target = seat('D', 5);
    await seatButton(second.page, target).click(); // the watcher wants it too
    assert.equal(await seatButton(second.page, target).getAttribute('aria-pressed'), 'true');
    await second.page.evaluate('window.notReloaded = true');

    await seatButton(first.page, target).click();
    const held = first.page.waitForResponse((r) => r.url().endsWith('/api/v1/bookings') && r.request().method() === 'POST');
    await first.page.locator('#hold').click();
    assert.equal((await held).status(), 201);
    const heldAt = Date.now();
    await second.page.locator(`button.seat[data-seat-id="${target.id}"][data-status="held"]`).waitFor({ timeout: 1000 });
    const took = Date.now() - heldAt;
    assert.ok(took < 1000, `took ${took} ms`);

    const button = seatButton(second.page, target);
    assert.equal(await button.getAttribute('aria-pressed'), 'false', 'unpicked');
    assert.equal(await button.getAttribute('aria-disabled'), 'true');
    assert.match((await button.getAttribute('aria-label')) ?? '', /^Row D, seat 5, standard, \$12\.00, held by someone else$/);
    await second.page.locator('#announcer', { hasText: 'Row D, seat 5 was just taken by someone else' }).waitFor({ timeout: 2000 });
    assert.equal(await second.page.evaluate('window.notReloaded'), true, 'no reload');
    assert.deepEqual([...first.problems(), ...second.problems()], []);
  });

  it('a declined card shows the decline and keeps the hold (pending in the database); another card then confirms it; cancelling shows the refund', async () => {
    const { show, seat } = await newShow();
    const user = await signUp(t);
    const { page, problems } = await open(`/#/shows/${show.id}`, { user });
    await waitLive(page);
    await seatButton(page, seat('E', 8)).click();
    await seatButton(page, seat('E', 9)).click();
    await page.locator('#hold').click();
    await page.locator('#countdown').waitFor();

    await page.getByLabel('Card number').fill(DECLINED_CARD);
    await page.locator('#pay').click();
    const declined = page.locator('.pay-status [role="alert"]');
    await declined.waitFor();
    assert.match(await declined.innerText(), /Card declined\. The payment was declined .*seats stay held/);
    assert.ok(await page.locator('#countdown').isVisible(), 'the countdown goes on');
    const pending = await t.sql<{ id: string; status: string }>(`SELECT id, status FROM bookings WHERE show_id = $1`, [show.id]);
    assert.deepEqual(pending.map((r) => r.status), ['pending']);

    await page.getByLabel('Card number').fill(GOOD_CARD);
    await page.locator('#pay').click();
    await page.locator('#confirmation').waitFor();
    const confirmed = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE show_id = $1`, [show.id]);
    assert.deepEqual(confirmed.map((r) => r.status), ['confirmed']);

    // Cancel from My bookings: a confirm dialog, then the refund.
    await page.goto(`${t.url}/#/bookings`);
    const card = page.locator(`article.booking[data-booking-id="${pending[0]?.id ?? ''}"]`);
    await card.getByRole('button', { name: 'Cancel booking' }).click();
    const dialog = page.locator('dialog.confirm-dialog');
    assert.match(await dialog.innerText(), /refunded \$33\.00/);
    await dialog.getByRole('button', { name: 'Cancel booking' }).click();
    const after = page.locator(`article.booking[data-booking-id="${pending[0]?.id ?? ''}"]`);
    await after.locator('header .badge', { hasText: 'Cancelled' }).waitFor();
    assert.match(await after.locator('.payment').innerText(), /Refund(ed)? .*\$33\.00/);
    assert.equal(await after.locator('[data-ticket-status="void"]').count(), 2, 'the tickets are void');
    const cancelled = await t.sql<{ status: string; payments: string[] }>(
      `SELECT b.status, array_agg(p.status ORDER BY p.created_at) AS payments FROM bookings b JOIN payments p ON p.booking_id = b.id WHERE b.show_id = $1 GROUP BY b.id`,
      [show.id],
    );
    assert.equal(cancelled[0]?.status, 'cancelled');
    assert.match(cancelled[0]?.payments.at(-1) ?? '', /^refund/);
    // Chromium logs every error answer; the decline's 402 is the one expected.
    assert.deepEqual(problems().filter((p) => !/status of 402 \(Payment Required\)/.test(p)), []);
  });

  it('a 409 on hold names the seat taken meanwhile (row and number) and keeps the other seat picked; a checked-in ticket refuses cancelling with the API’s detail', async () => {
    const { show, seat } = await newShow();
    const [alice, bob] = [await signUp(t), await signUp(t)];
    const first = await open(`/#/shows/${show.id}`, { user: alice });
    const second = await open(`/#/shows/${show.id}`, { user: bob });
    await waitLive(first.page);
    // The race: Bob's page has not heard of Alice's hold yet (his live stream is cut) when he holds.
    await second.page.context().route('**/seats/stream', (route) => route.abort());
    await second.page.reload();
    await second.page.locator('.seat').first().waitFor();
    const [contested, other] = [seat('B', 3), seat('B', 4)];
    await seatButton(first.page, contested).click();
    await seatButton(first.page, seat('B', 2)).click();
    await seatButton(second.page, contested).click();
    await seatButton(second.page, other).click();
    await first.page.locator('#hold').click();
    await first.page.locator('#countdown').waitFor();

    const answered = second.page.waitForResponse((r) => r.url().endsWith('/api/v1/bookings') && r.request().method() === 'POST');
    await second.page.locator('#hold').click();
    assert.equal((await answered).status(), 409);
    const message = second.page.locator('.messages [role="alert"]');
    await message.waitFor();
    const text = await message.innerText();
    assert.match(text, /row B, seat 3 was just taken/);
    assert.match(text, /still picked \(row B, seat 4\)/);
    assert.equal(await seatButton(second.page, contested).getAttribute('aria-pressed'), 'false');
    assert.equal(await seatButton(second.page, contested).getAttribute('data-status'), 'held');
    assert.equal(await seatButton(second.page, other).getAttribute('aria-pressed'), 'true', 'the other seat stays picked');
    assert.equal(await second.page.locator('#hold').innerText(), 'Hold 1 seat');
    const bobs = await t.sql(`SELECT 1 FROM bookings WHERE user_id = $1`, [bob.id]);
    assert.equal(bobs.length, 0);

    // Holding what is left works.
    await second.page.locator('#hold').click();
    await second.page.locator('#countdown').waitFor();
    await second.page.getByLabel('Card number').fill(GOOD_CARD);
    await second.page.locator('#pay').click();
    await second.page.locator('#confirmation .ticket').first().waitFor();

    // My bookings open, then a ticket is checked in at the door: cancelling is refused, with the API's words.
    await second.page.goto(`${t.url}/#/bookings`);
    const card = second.page.locator('article.booking').first();
    await card.locator('.ticket-code').first().waitFor();
    const code = await card.locator('.ticket-code').first().innerText();
    const checkIn = await t.request('POST', '/api/v1/tickets/check-in', { token: admin.token, body: { code } });
    assert.equal(checkIn.status, 200, checkIn.text);
    await card.getByRole('button', { name: 'Cancel booking' }).click();
    await second.page.locator('dialog.confirm-dialog').getByRole('button', { name: 'Cancel booking' }).click();
    const refused = card.locator('.card-messages [role="alert"]');
    await refused.waitFor();
    assert.match(await refused.innerText(), /checked in/i);
    await second.page.reload();
    const reloaded = second.page.locator('article.booking').first();
    await reloaded.locator('[data-ticket-status="checked_in"]').waitFor();
    assert.match(await reloaded.innerText(), /Checked in/);
    assert.equal(await reloaded.getByRole('button', { name: 'Cancel booking' }).count(), 0);
    const status = await t.sql<{ status: string }>(`SELECT status FROM bookings WHERE user_id = $1`, [bob.id]);
    assert.deepEqual(status.map((r) => r.status), ['confirmed']);
  });

  it('when the countdown runs out the page says the hold expired, and the seat shows free again, without a reload', async () => {
    // A server of its own whose holds last 3 seconds.
    const quick = await startTestApp({ HOLD_TTL_SECONDS: '3' });
    try {
      const quickAdmin = await signUpAdmin(quick);
      const show = await makeShow(quick, quickAdmin, { rows: ROWS, prices: PRICES });
      const target = (await seatMap(quick, show.id)).find((s) => s.row === 'A' && s.number === 4);
      assert.ok(target);
      const user = await signUp(quick);
      const context = await browser.newContext({
        storageState: { cookies: [], origins: [{ origin: new URL(quick.url).origin, localStorage: [{ name: 'marquee.tokens', value: JSON.stringify({ accessToken: user.token, refreshToken: user.refreshToken }) }] }] },
      });
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${quick.url}/#/shows/${show.id}`);
      await waitLive(page);
      await seatButton(page, target).click();
      await page.locator('#hold').click();
      assert.match(await page.locator('#countdown').innerText(), /0:0[0-3]/);
      assert.equal(await seatButton(page, target).getAttribute('data-status'), 'yours');
      await page.locator('.messages', { hasText: 'Your hold expired and the seats were released' }).waitFor({ timeout: 6000 });
      await page.locator(`button.seat[data-seat-id="${target.id}"][data-status="available"]`).waitFor({ timeout: 2000 });
      assert.equal(await page.locator('#countdown').count(), 0);
      await seatButton(page, target).click();
      assert.equal(await page.locator('#hold').innerText(), 'Hold 1 seat');
    } finally {
      for (const c of contexts.splice(0)) await c.close();
      await quick.close();
    }
  });

  it('the seat map is labelled buttons, one per seat, operable by keyboard (Tab in, arrows, Space/Enter picks); on a 375 px phone the map scrolls inside its box, not the page', async () => {
    const { show, seats, seat } = await newShow();
    const { page, problems } = await open(`/#/shows/${show.id}`);
    await waitLive(page);
    const labels: unknown = await page.evaluate("[...document.querySelectorAll('.seatmap button.seat')].map((b) => `${b.type}|${b.getAttribute('aria-label')}`)");
    assert.ok(Array.isArray(labels));
    assert.equal(labels.length, seats.length, 'one button per seat');
    for (const label of labels) assert.match(String(label), /^button\|Row [A-F], seat \d+, (accessible|standard|premium), \$\d+\.\d\d, available$/);
    assert.ok(labels.includes('button|Row E, seat 3, premium, $16.50, available'));
    assert.equal(await page.locator('.seat-row[role="group"]').count(), ROWS.length);
    assert.match(await page.locator('.legend').innerText(), /Available[\s\S]*Picked by you[\s\S]*Sold[\s\S]*Premium \$16\.50/);

    // Tab reaches the map (one Tab stop for all of it).
    const focusedLabel = async () => (await page.locator(':focus').getAttribute('aria-label')) ?? '';
    let focused = '';
    for (let i = 0; i < 30 && !focused.startsWith('Row '); i++) {
      await page.keyboard.press('Tab');
      focused = await focusedLabel();
    }
    assert.match(focused, /^Row A, seat 1,/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Space');
    assert.equal(await seatButton(page, seat('A', 2)).getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('ArrowDown');
    assert.match(await focusedLabel(), /^Row B, seat \d+,/);
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    assert.equal(await seatButton(page, seat('B', 14)).getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('#hold').innerText(), 'Hold 2 seats');
    // Pressing a picked seat again unpicks it.
    await page.keyboard.press('Enter');
    assert.equal(await seatButton(page, seat('B', 14)).getAttribute('aria-pressed'), 'false');

    const phone = await open(`/#/shows/${show.id}`, { viewport: { width: 375, height: 740 } });
    await waitLive(phone.page);
    await seatButton(phone.page, seat('C', 7)).click();
    await seatButton(phone.page, seat('C', 8)).click();
    const widths: unknown = await phone.page.evaluate(
      "(() => { const box = document.querySelector('.seatmap-scroll'); return [document.documentElement.scrollWidth, box.scrollWidth, box.clientWidth, box.scrollLeft]; })()",
    );
    assert.ok(Array.isArray(widths));
    const [pageWidth, mapWidth, boxWidth, scrolled] = widths.map(Number);
    assert.ok(pageWidth !== undefined && pageWidth <= 375, `the page itself is ${pageWidth} px wide`);
    assert.ok(mapWidth !== undefined && boxWidth !== undefined && mapWidth > boxWidth, 'the map scrolls sideways inside its box');
    assert.ok(scrolled !== undefined && scrolled > 0, 'and starts at its middle, below the centre of the screen');
    // The panel is below the map on a phone: a bar fixed to the bottom keeps the picks and the way to Hold in sight.
    const bar = phone.page.locator('#pick-bar');
    assert.ok(await bar.isVisible(), 'the pick bar shows on a phone once seats are picked');
    assert.match((await bar.innerText()).replace(/\s+/g, ' '), /2 seats · \$24\.00/);
    const barBox = await bar.boundingBox();
    assert.ok(barBox !== null && Math.abs(barBox.y + barBox.height - 740) < 2, 'at the bottom of the screen');
    await settle(phone.page);
    await screenshot(phone.page, 'mobile-seat-map');
    await bar.getByRole('button', { name: 'Review and hold' }).click();
    assert.equal(await phone.page.locator('#hold:focus').count(), 1, 'it leads to the Hold button');
    assert.ok(await phone.page.locator('#hold').isVisible());
    assert.equal(await page.locator('#pick-bar').isVisible(), false, 'no bar on a wide screen, where the panel sits beside the map');
    assert.deepEqual([...problems(), ...phone.problems()], []);
  });

  it('refreshes an expired access token without the user noticing: My bookings loads with the stored refresh token, and the page keeps the rotated pair', async () => {
    const { show, seat } = await newShow();
    const user = await signUp(t, { name: 'Tess Token' });
    const hold = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: user.token, body: { showId: show.id, seatIds: [seat('C', 3).id] } });
    assert.equal(hold.status, 201, hold.text);
    // The same claims (user, token version, sign-in), issued an hour ago and expired since.
    const claims = JSON.parse(Buffer.from(user.token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    const rest = Object.fromEntries(Object.entries(claims).filter(([k]) => k !== 'iat' && k !== 'exp'));
    const expired = createSigner({ key: t.config.jwtSecret, algorithm: 'HS256', clockTimestamp: Date.now() - 3_600_000, expiresIn: 60_000 })(rest);
    const refused = await t.request('GET', '/api/v1/bookings', { token: expired });
    assert.equal(refused.status, 401, 'the API refuses the expired token');

    const { page, problems } = await open('/#/bookings', { user: { ...user, token: expired } });
    await page.locator(`article.booking`).first().waitFor();
    assert.match(await page.locator('#who').innerText(), /Tess Token/);
    assert.equal(new URL(page.url()).hash, '#/bookings', 'no detour to the sign-in page');
    const stored: unknown = await page.evaluate("JSON.parse(localStorage.getItem('marquee.tokens'))");
    assert.ok(typeof stored === 'object' && stored !== null && 'refreshToken' in stored && 'accessToken' in stored);
    assert.notEqual(stored.refreshToken, user.refreshToken, 'the rotated refresh token is kept (the old one is spent)');
    assert.notEqual(stored.accessToken, expired);
    const [session] = await t.sql<{ live: number }>(`SELECT count(*)::int AS live FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL AND used_at IS NULL`, [user.id]);
    assert.equal(session?.live, 1, 'one live sign-in: the refresh happened once');
    // The three first attempts (the user, upcoming, past) were answered 401, and the client
    // dropped each body (response.body.cancel()) before retrying: the browser logs the 401s and
    // reports those requests aborted. Nothing else may fail.
    const expected = (p: string) =>
      /^console: Failed to load resource: the server responded with a status of 401/.test(p) || /^failed: .*\/api\/v1\/(me|bookings\?\S*) net::ERR_ABORTED$/.test(p);
    assert.ok(problems().filter(expected).length <= 6);
    assert.deepEqual(problems().filter((p) => !expected(p)), []);
  });

  it('shows hostile catalogue text and names as text: markup in a title, a theatre, a screen and a user name runs nothing', async () => {
    const markup = '<img src=x onerror="window.pwned=1">';
    const movie = await makeMovie(t, admin, { title: `Pwn ${markup}` });
    const theatre = await makeTheatre(t, admin, { name: `<script>window.pwned=2</script>Hall`, city: 'Xss City' });
    const screen = await makeScreen(t, admin, { theatreId: theatre.id, rows: [{ label: 'A', seats: 6, category: 'standard' }] });
    const show = await makeShow(t, admin, { movieId: movie.id, screenId: screen.id, prices: { standard: 1000 } });
    const user = await signUp(t, { name: `<b onmouseover="window.pwned=3">Mallory</b>` });
    const { page, problems } = await open(`/#/shows/${show.id}`, { user });
    await waitLive(page);
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(`Pwn ${markup}`), 'the title is shown as the text it is');
    assert.ok(text.includes('<script>window.pwned=2</script>Hall'));
    assert.ok((await page.locator('#who').innerText()).includes('<b onmouseover='));
    await page.locator('#who').hover();
    assert.equal(await page.evaluate('typeof window.pwned'), 'undefined', 'nothing ran');
    assert.equal(await page.locator('main img[src="x"], main script, header b').count(), 0, 'no element was made from the text');
    assert.deepEqual(problems(), []);
  });
});
