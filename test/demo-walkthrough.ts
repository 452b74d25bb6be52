/**
 * The new user's walk through the demo, in a real browser against a running `npm start`
 * (the embedded database with its demo catalogue): a buyer opens `/`, picks a show and two
 * seats, signs up on the way, holds and pays, and sees the tickets; a second person watching
 * the same show sees those seats turn unavailable live; the demo usher checks one ticket in
 * at `/door`, and a second scan of it is refused.
 *
 *   npm start                                  # in one terminal
 *   npm run walkthrough                        # in another: http://localhost:3000
 *   npm run walkthrough -- http://host:port --readme   # also refresh docs/images/*.png
 *
 * The usher's credentials come from .data/demo-usher.txt (written by the first start), or
 * USHER_EMAIL and USHER_PASSWORD. CI runs it against its `npm start` smoke server. Prints
 * each step and its time; exits 1 on the first thing that is not as a user would expect.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, settle, until } from './browser.ts';

const args = process.argv.slice(2);
const base = (args.find((a) => !a.startsWith('--')) ?? 'http://localhost:3000').replace(/\/$/, '');
const refreshReadme = args.includes('--readme');
const repo = path.resolve(import.meta.dirname, '..');

const started = performance.now();
function step(message: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}
function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(what);
}

function usherCredentials(): { email: string; password: string } {
  const email = process.env['USHER_EMAIL'];
  const password = process.env['USHER_PASSWORD'];
  if (email !== undefined && password !== undefined) return { email, password };
  const file = path.join(repo, '.data', 'demo-usher.txt');
  check(existsSync(file), `${file} is missing: start the server once with npm start (it writes the demo usher), or set USHER_EMAIL and USHER_PASSWORD`);
  const text = readFileSync(file, 'utf8');
  const field = (name: string) => new RegExp(`^${name}: (.+)$`, 'm').exec(text)?.[1]?.trim();
  const fromFile = { email: field('email'), password: field('password') };
  check(fromFile.email !== undefined && fromFile.password !== undefined, `${file} does not name an email and a password`);
  return { email: fromFile.email, password: fromFile.password };
}

async function walk(browser: Browser): Promise<void> {
  const usher = usherCredentials();
  const buyerContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watcherContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const usherContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const buyer = await buyerContext.newPage();
  const watcher = await watcherContext.newPage();

  // 1. Browse: the first show listed.
  await buyer.goto(`${base}/`);
  const card = buyer.locator('a[data-show-id]').first();
  await card.waitFor({ timeout: 15_000 });
  const showId = await card.getAttribute('data-show-id');
  check(showId !== null, 'a show card names its show');
  step(`browse: ${await buyer.locator('a[data-show-id]').count()} shows listed; opening "${(await card.innerText()).split('\n')[0] ?? ''}"`);
  await card.click();
  await watcher.goto(`${base}/#/shows/${showId}`);
  await Promise.all([buyer.locator('.live[data-live="true"]').waitFor(), watcher.locator('.live[data-live="true"]').waitFor()]);
  step('seat map drawn and live in both browsers');

  // 2. The best two seats, as the API proposes them, picked on the map.
  const best = (await (await fetch(`${base}/api/v1/shows/${showId}/best-seats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"count":2}' })).json()) as {
    seats?: { id: string; row: string; number: number }[];
  };
  const seats = best.seats ?? [];
  check(seats.length === 2, 'two seats are free together');
  for (const s of seats) await buyer.locator(`button.seat[data-seat-id="${s.id}"]`).click();
  step(`picked ${seats.map((s) => `${s.row}${s.number}`).join(' and ')}`);
  // The watcher picks two seats of their own, so the screenshot shows a selection too.
  const free = watcher.locator('button.seat[data-status="available"]');
  await free.nth(40).click();
  await free.nth(40).click();

  // 3. Hold: sign up on the way, back to the show with the seats still picked.
  await buyer.locator('#hold').click();
  await buyer.waitForURL(/#\/signin\?next=/);
  await buyer.getByRole('link', { name: 'Create an account' }).click();
  await buyer.getByLabel('Your name').fill('Grace Hopper');
  await buyer.getByLabel('Email').fill(`grace-${Date.now()}@example.com`);
  await buyer.getByLabel('Password').fill('correct horse battery');
  await buyer.getByRole('button', { name: 'Create account' }).click();
  await buyer.locator('#who', { hasText: 'Grace Hopper' }).waitFor();
  step('signed up on the way; back on the show with the seats picked');
  const held = buyer.waitForResponse((r) => r.url().endsWith('/api/v1/bookings') && r.request().method() === 'POST');
  await buyer.locator('#hold').click();
  check((await held).status() === 201, 'the hold is created');
  const heldAt = Date.now();
  for (const s of seats) await watcher.locator(`button.seat[data-seat-id="${s.id}"][data-status="held"]`).waitFor({ timeout: 2000 });
  const liveMs = Date.now() - heldAt;
  check(liveMs < 1000, `the watcher saw the held seats after ${liveMs} ms (at most 1 s)`);
  step(`held; the second browser saw both seats turn unavailable after ${liveMs} ms, without a reload`);
  await buyer.locator('#countdown').waitFor();

  // 4. Pay, see the tickets.
  await buyer.getByLabel('Card number').fill('4242 4242 4242 4242');
  await buyer.locator('#pay').click();
  const confirmation = buyer.locator('#confirmation');
  await confirmation.waitFor();
  check((await confirmation.locator('.ticket').count()) === 2, 'the confirmation shows two tickets');
  await buyer.getByRole('link', { name: 'My bookings' }).first().click();
  const booking = buyer.locator('article.booking').first();
  await booking.waitFor();
  await until(buyer, "[...document.querySelectorAll('article.booking img.qr')].every((img) => img.complete && img.naturalWidth > 0)", 'the QR images to load', 10_000);
  const codes = await booking.locator('.ticket-code').allInnerTexts();
  check(codes.length === 2, `My bookings shows two ticket codes (saw ${codes.length})`);
  step('paid; My bookings shows the booking with two tickets and their QR codes');
  await screenshot(buyer, 'walkthrough-my-bookings', true);

  for (const s of seats) await watcher.locator(`button.seat[data-seat-id="${s.id}"][data-status="sold"]`).waitFor({ timeout: 2000 });
  await watcher.locator(`button.seat[data-seat-id="${seats[0]?.id ?? ''}"]`).scrollIntoViewIfNeeded();
  await settle(watcher);
  const seatMapShot = await screenshot(watcher, 'walkthrough-seat-map');
  step('the second browser shows them sold');

  // 5. The usher checks one ticket in at the door; a second scan is refused.
  const door = await usherContext.newPage();
  await door.goto(`${base}/door`);
  await door.locator('#email').fill(usher.email);
  await door.locator('#password').fill(usher.password);
  await door.getByRole('button', { name: 'Sign in' }).click();
  await door.locator('#code').waitFor({ state: 'visible' });
  const scan = async (code: string, nth: number) => {
    await door.locator('#code').fill(code);
    await door.locator('#code').press('Enter');
    await door.locator('#recent li').nth(nth).waitFor({ state: 'attached' });
    return door.getByRole('status').innerText();
  };
  const first = await scan(codes[0] ?? '', 0);
  check(/ADMIT/.test(first) && /Grace Hopper/.test(first), `the first scan admits Grace Hopper (saw: ${first.replace(/\s+/g, ' ')})`);
  await settle(door);
  const doorShot = await screenshot(door, 'walkthrough-door');
  const second = await scan(codes[0] ?? '', 1);
  check(/already checked in/i.test(second), `the second scan is refused as already checked in (saw: ${second.replace(/\s+/g, ' ')})`);
  step('the usher admitted the ticket once; the second scan was refused');

  if (refreshReadme) {
    mkdirSync(path.join(repo, 'docs', 'images'), { recursive: true });
    copyFileSync(seatMapShot, path.join(repo, 'docs', 'images', 'seat-map.png'));
    copyFileSync(doorShot, path.join(repo, 'docs', 'images', 'door.png'));
    step('docs/images/seat-map.png and docs/images/door.png refreshed');
  }
}

const browser = await launchBrowser();
try {
  await walk(browser);
  step(`walkthrough passed against ${base} (screenshots in .artifacts/walkthrough-*.png)`);
} catch (err) {
  console.error(`walkthrough FAILED against ${base}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
