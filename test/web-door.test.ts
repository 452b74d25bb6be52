/**
 * The door page (/door) in a real browser (playwright-core driving chromium-headless-shell),
 * against an in-process server with its own database: an usher signs in, types or scans
 * ticket codes and sees green or red; the rows show what the API did. Phone-sized viewport.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeScreen, makeShow, makeTheatre, seatMap, type Show } from './builders.ts';
import { launchBrowser, screenshot, skipBrowser, watchPage } from './browser.ts';
import { signUp, signUpAdmin, startTestApp, type SignedIn, type TestApp } from './helpers.ts';

interface Ticket {
  id: string;
  seatId: string;
  code: string;
  status: string;
  checkedInAt: string | null;
}
interface Booking {
  id: string;
  status: string;
  seats: { id: string; row: string; number: number }[];
  tickets: Ticket[];
}

const PASSWORD = 'correct horse battery';
/** A phone; reduced motion so a screenshot never catches the answer's flash half-way. */
const PHONE_CONTEXT = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, reducedMotion: 'reduce' } as const;

describe('the door page (/door) in Chromium', { skip: skipBrowser }, () => {
  let t: TestApp;
  let browser: Browser;
  let admin: SignedIn;
  let usher: SignedIn;
  const contexts: BrowserContext[] = [];

  before(async () => {
    t = await startTestApp();
    browser = await launchBrowser();
    admin = await signUpAdmin(t);
    usher = await signUp(t, { name: 'Uma Usher' });
    const promoted = await t.request<{ role: string }>('PATCH', `/api/v1/users/${usher.id}`, { token: admin.token, body: { role: 'staff' } });
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal(promoted.body.role, 'staff');
  });
  after(async () => {
    for (const c of contexts) await c.close();
    await browser.close();
    await t.close();
  });

  /** A customer named `name` books `count` seats of the show and pays: the confirmed booking with its tickets. */
  async function confirmedBooking(show: Show, name: string, count = 1): Promise<{ booking: Booking; customer: SignedIn }> {
    const customer = await signUp(t, { name });
    const free = (await seatMap(t, show.id)).filter((s) => s.status === 'available').slice(0, count);
    const held = await t.request<Booking>('POST', '/api/v1/bookings', { token: customer.token, body: { showId: show.id, seatIds: free.map((s) => s.id) } });
    assert.equal(held.status, 201, held.text);
    const paid = await t.request<Booking>('POST', `/api/v1/bookings/${held.body.id}/confirm`, { token: customer.token, body: { paymentToken: 'tok_visa' } });
    assert.equal(paid.status, 200, paid.text);
    assert.equal(paid.body.tickets.length, count);
    return { booking: paid.body, customer };
  }

  /**
   * The page's errors: console errors, page errors, failed requests, and any answer ≥ 400 other
   * than check-in's (whose 404 and 409 are the refusals the door shows; Chromium logs each as a
   * console error without its address, so those lines are judged by the responses instead).
   */
  function watch(page: Page): () => string[] {
    const { problems } = watchPage(page);
    const bad: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== '/api/v1/tickets/check-in') bad.push(`${r.status()} ${r.url()}`);
    });
    return () => [...problems().filter((p) => !p.startsWith('console: Failed to load resource: the server responded with a status of')), ...bad];
  }

  async function openDoor(): Promise<{ page: Page; problems: () => string[] }> {
    const context = await browser.newContext(PHONE_CONTEXT);
    contexts.push(context);
    const page = await context.newPage();
    const problems = watch(page);
    const nav = await page.goto(`${t.url}/door`);
    assert.equal(nav?.status(), 200);
    return { page, problems };
  }

  async function signIn(page: Page, email: string): Promise<void> {
    await page.locator('#email').fill(email);
    await page.locator('#password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function openDoorAsUsher(): Promise<{ page: Page; problems: () => string[] }> {
    const door = await openDoor();
    await signIn(door.page, usher.email);
    await door.page.locator('#code').waitFor({ state: 'visible' });
    return door;
  }

  /** Types (like a keyboard or a handheld scanner) the code and Enter; the answer once drawn. */
  async function scan(page: Page, typed: string): Promise<{ kind: string; text: string }> {
    const before = await page.locator('#recent li').count();
    await page.locator('#code').fill(typed);
    await page.locator('#code').press('Enter');
    await page.locator('#recent li').nth(before).waitFor({ state: 'attached' });
    return answer(page);
  }

  async function answer(page: Page): Promise<{ kind: string; text: string }> {
    const region = page.getByRole('status');
    return { kind: (await region.getAttribute('data-kind')) ?? '', text: await region.innerText() };
  }

  const storedTokens = (page: Page): Promise<unknown> => page.evaluate("localStorage.getItem('marquee.tokens')");

  async function checkedInAt(ticketId: string): Promise<Date | null> {
    const [row] = await t.sql<{ checked_in_at: Date | null }>('SELECT checked_in_at FROM tickets WHERE id = $1', [ticketId]);
    assert.ok(row !== undefined, `no ticket row ${ticketId}`);
    return row.checked_in_at;
  }

  it('an usher signs in and types a code → green "Admit" with seat, movie, screen and holder, the row checked in; the same code again → red "already checked in" with the first scan’s time', async () => {
    const show = await makeShow(t, admin);
    const { booking } = await confirmedBooking(show, 'Ada Lovelace');
    const ticket = booking.tickets[0];
    const seat = booking.seats[0];
    assert.ok(ticket !== undefined && seat !== undefined);
    const { page, problems } = await openDoorAsUsher();
    assert.match(await page.locator('#who').innerText(), /Uma Usher/);
    assert.equal(await page.locator('#code:focus').count(), 1, 'the code box has the focus, ready for a scanner');

    // Pasted with stray whitespace around it, as scanners and clipboards bring.
    const first = await scan(page, `  ${ticket.code}\t `);
    assert.equal(first.kind, 'admit', first.text);
    assert.match(first.text, /✓/);
    assert.match(first.text, /admit/i);
    assert.match(first.text, new RegExp(`Row ${seat.row}, seat ${seat.number}\\b`));
    assert.match(first.text, /Ada Lovelace/);
    const shown = await t.request<{ movie: { title: string }; screen: { name: string } }>('GET', `/api/v1/shows/${show.id}`);
    assert.match(first.text, new RegExp(shown.body.movie.title));
    assert.match(first.text, new RegExp(shown.body.screen.name));
    assert.equal(await page.locator('#answer time').first().getAttribute('datetime'), show.startsAt, 'the start time is the show’s');
    assert.equal(await page.locator('#code').inputValue(), '', 'the box is cleared for the next scan');
    assert.equal(await page.locator('#code:focus').count(), 1, 'and has the focus again');
    const firstScan = await checkedInAt(ticket.id);
    assert.ok(firstScan instanceof Date, 'checked_in_at is set');
    await screenshot(page, 'door-admit');

    const second = await scan(page, ticket.code);
    assert.equal(second.kind, 'already', second.text);
    assert.match(second.text, /✗/);
    assert.match(second.text, /do not admit/i);
    assert.match(second.text, /already checked in/i);
    const at = await page.locator('#answer time').first().getAttribute('datetime');
    assert.equal(at !== null && new Date(at).getTime(), firstScan.getTime(), 'the answer shows the first scan’s time');
    assert.equal((await checkedInAt(ticket.id))?.getTime(), firstScan.getTime(), 'the second scan changed nothing');
    await screenshot(page, 'door-refused');
    assert.equal(await page.locator('#recent li').count(), 2, 'both scans are listed');
    assert.deepEqual(problems(), []);
  });

  it('a handheld scanner sends two codes back to back → both answered, in order; a tampered code → red "not a valid ticket"; a cancelled booking’s ticket → red void', async () => {
    const show = await makeShow(t, admin);
    const { booking } = await confirmedBooking(show, 'Grace Hopper', 2);
    const [one, two] = booking.tickets;
    assert.ok(one !== undefined && two !== undefined);
    const { page, problems } = await openDoorAsUsher();

    // A scanner is a keyboard: the code's keys, then Enter, then at once the next code.
    await page.locator('#code').pressSequentially(`${one.code}\n${two.code}\n`, { delay: 0 });
    await page.locator('#recent li').nth(1).waitFor({ state: 'attached' });
    const lines = await page.locator('#recent li').allInnerTexts();
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /✓ Row .*Grace Hopper/);
    assert.ok((await checkedInAt(one.id)) !== null && (await checkedInAt(two.id)) !== null, 'both rows checked in');

    const last = one.code.slice(-1);
    const tampered = `${one.code.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
    const forged = await scan(page, tampered);
    assert.equal(forged.kind, 'invalid', forged.text);
    assert.match(forged.text, /✗/);
    assert.match(forged.text, /not a valid ticket/i);

    const other = await makeShow(t, admin);
    const cancelled = await confirmedBooking(other, 'Alan Turing');
    const cancel = await t.request<Booking>('POST', `/api/v1/bookings/${cancelled.booking.id}/cancel`, { token: cancelled.customer.token });
    assert.equal(cancel.status, 200, cancel.text);
    const voidTicket = cancelled.booking.tickets[0];
    assert.ok(voidTicket !== undefined);
    const voided = await scan(page, voidTicket.code);
    assert.equal(voided.kind, 'void', voided.text);
    assert.match(voided.text, /✗/);
    assert.match(voided.text, /void/i);
    assert.match(voided.text, /cancelled/i);
    assert.equal(await checkedInAt(voidTicket.id), null, 'a void ticket is not checked in');
    assert.deepEqual(problems(), []);
  });

  it('with a show chosen (kept across a reload): a ticket of another show → red "wrong show" naming the ticket’s show; a ticket of the chosen show → green', async () => {
    const theatre = await makeTheatre(t, admin, { name: 'Door Test Picturehouse' });
    const screenA = await makeScreen(t, admin, { theatreId: theatre.id });
    const screenB = await makeScreen(t, admin, { theatreId: theatre.id });
    // Today's shows (the picker lists today's only): a few minutes from now.
    const soon = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const here = await makeShow(t, admin, { screenId: screenA.id, startsAt: soon(10) });
    const elsewhere = await makeShow(t, admin, { screenId: screenB.id, startsAt: soon(20) });
    const ours = await confirmedBooking(here, 'Katherine Johnson');
    const theirs = await confirmedBooking(elsewhere, 'Dorothy Vaughan');
    const elsewhereShow = await t.request<{ movie: { title: string } }>('GET', `/api/v1/shows/${elsewhere.id}`);

    const { page, problems } = await openDoorAsUsher();
    await page.locator('#show-pick summary').click();
    await page.locator(`#theatre option[value="${theatre.id}"]`).waitFor({ state: 'attached' });
    await page.locator('#theatre').selectOption(theatre.id);
    await page.locator(`#show option[value="${here.id}"]`).waitFor({ state: 'attached' });
    await page.locator('#show').selectOption(here.id);
    assert.match(await page.locator('#show-current').innerText(), /Screen/);

    // The choice is remembered: a reload still admits only this show.
    await page.reload();
    await page.locator('#code').waitFor({ state: 'visible' });
    await page.locator(`#show option[value="${here.id}"]`).waitFor({ state: 'attached' });
    assert.equal(await page.locator('#show').inputValue(), here.id);

    const wrong = await scan(page, theirs.booking.tickets[0]?.code ?? '');
    assert.equal(wrong.kind, 'wrong-show', wrong.text);
    assert.match(wrong.text, /✗/);
    assert.match(wrong.text, /wrong show/i);
    assert.match(wrong.text, new RegExp(elsewhereShow.body.movie.title), 'says which show the ticket is for');
    assert.equal(await page.locator('#answer time').first().getAttribute('datetime'), elsewhere.startsAt);
    assert.equal(await checkedInAt(theirs.booking.tickets[0]?.id ?? ''), null);

    const right = await scan(page, ours.booking.tickets[0]?.code ?? '');
    assert.equal(right.kind, 'admit', right.text);
    assert.match(right.text, /Katherine Johnson/);
    assert.deepEqual(problems(), []);
  });

  it('a customer signing in is told that only staff or admins can check tickets in, and is not left signed in', async () => {
    const customer = await signUp(t, { name: 'Carl Customer' });
    const { page, problems } = await openDoor();
    await signIn(page, customer.email);
    const alert = page.locator('#sign-in-message');
    await alert.filter({ hasText: /customer/ }).waitFor();
    assert.match(await alert.innerText(), /only staff or admin/i);
    assert.equal(await page.locator('#door').isVisible(), false, 'no scan box for a customer');
    assert.equal(await storedTokens(page), null, 'the customer’s tokens are not kept on the door device');

    // A customer's sign-in left by the booking pages (same origin): the door says the same, the API would answer 403.
    const login = await t.request<{ accessToken: string; refreshToken: string }>('POST', '/api/v1/auth/login', { body: { email: customer.email, password: PASSWORD } });
    const tokens = JSON.stringify({ accessToken: login.body.accessToken, refreshToken: login.body.refreshToken });
    await page.evaluate(`localStorage.setItem('marquee.tokens', ${JSON.stringify(tokens)})`);
    await page.reload();
    await alert.filter({ hasText: /customer/ }).waitFor();
    assert.match(await alert.innerText(), /only staff or admin/i);
    assert.equal(await page.locator('#door').isVisible(), false);
    const direct = await t.request('POST', '/api/v1/tickets/check-in', { token: login.body.accessToken, body: { code: 'mq1whatever' } });
    assert.equal(direct.status, 403);
    assert.deepEqual(problems(), []);
  });

  it('no connection → red "no answer from the server"; sign out → back to the sign-in form', async () => {
    const show = await makeShow(t, admin);
    const { booking } = await confirmedBooking(show, 'Hedy Lamarr');
    const ticket = booking.tickets[0];
    assert.ok(ticket !== undefined);
    const { page } = await openDoorAsUsher();
    await page.route('**/api/v1/tickets/check-in', (route) => route.abort('internetdisconnected'));
    const offline = await scan(page, ticket.code);
    assert.equal(offline.kind, 'offline', offline.text);
    assert.match(offline.text, /✗/);
    assert.match(offline.text, /no answer from the server/i);
    assert.equal(await checkedInAt(ticket.id), null);
    await page.unroute('**/api/v1/tickets/check-in');
    const online = await scan(page, ticket.code);
    assert.equal(online.kind, 'admit', online.text);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#door').isVisible(), false);
    assert.equal(await storedTokens(page), null);
  });

  it('camera: without BarcodeDetector the button is hidden and a note says typing still works; with one (a stand-in detector and camera) "Scan with camera" reads the QR, checks it in and stops the camera', async () => {
    const plain = await openDoorAsUsher();
    const hasDetector = await plain.page.evaluate("'BarcodeDetector' in window");
    if (!hasDetector) {
      assert.equal(await plain.page.locator('#camera-start').isVisible(), false);
      assert.match(await plain.page.locator('#camera-note').innerText(), /can’t scan with the camera.*type/i);
    }

    const show = await makeShow(t, admin);
    const { booking } = await confirmedBooking(show, 'Margaret Hamilton');
    const ticket = booking.tickets[0];
    assert.ok(ticket !== undefined);
    const context = await browser.newContext(PHONE_CONTEXT);
    contexts.push(context);
    // Headless Chromium has no camera and (on Linux) no BarcodeDetector: stand-ins for just those
    // two, a canvas stream as the camera and a detector that "sees" the ticket's QR on its third look.
    // (A script string: the page's own globals, which the Node-side types do not know.)
    await context.addInitScript(`
      window.cameraLog = [];
      let looks = 0;
      window.BarcodeDetector = class {
        static getSupportedFormats() { return Promise.resolve(['ean_13', 'qr_code']); }
        detect() {
          looks += 1;
          return Promise.resolve(looks >= 3 ? [{ rawValue: ${JSON.stringify(ticket.code)}, format: 'qr_code' }] : []);
        }
      };
      const stop = MediaStreamTrack.prototype.stop;
      MediaStreamTrack.prototype.stop = function () { window.cameraLog.push('stopped'); stop.call(this); };
      navigator.mediaDevices.getUserMedia = (constraints) => {
        window.cameraLog.push(constraints);
        const canvas = document.createElement('canvas');
        canvas.width = 64;
        canvas.height = 64;
        canvas.getContext('2d').fillRect(0, 0, 64, 64);
        return Promise.resolve(canvas.captureStream(10));
      };
    `);
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${t.url}/door`);
    await signIn(page, usher.email);
    const start = page.getByRole('button', { name: 'Scan with camera' });
    await start.click();
    await page.locator('#recent li').first().waitFor({ state: 'attached' });
    const scanned = await answer(page);
    assert.equal(scanned.kind, 'admit', scanned.text);
    assert.match(scanned.text, /Margaret Hamilton/);
    assert.ok((await checkedInAt(ticket.id)) !== null);
    const log: unknown = await page.evaluate('window.cameraLog');
    assert.ok(Array.isArray(log));
    assert.deepEqual(log[0], { video: { facingMode: 'environment' }, audio: false }, 'the back camera was asked for');
    assert.ok(log.includes('stopped'), 'the camera was stopped after the read');
    assert.equal(await page.locator('#camera-video').isVisible(), false);
    assert.equal(await start.isVisible(), true, 'ready for the next camera scan');
    assert.deepEqual(problems(), []);
  });
});
