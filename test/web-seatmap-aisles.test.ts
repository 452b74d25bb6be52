/**
 * The seat map draws the layout's aisles (issue #12: "rows, aisles from the layout"): a gap
 * after each seat whose aisleAfter is true, in a real browser (playwright-core driving
 * chromium-headless-shell), checked on what the page lays out, not on the page's own state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot, skipBrowser, watchPage } from './browser.ts';
import { makeShow, seatMap } from './builders.ts';
import { signUpAdmin, startTestApp, type TestApp } from './helpers.ts';

const ROWS = [
  { label: 'A', seats: 8, category: 'accessible', aisles: [2] },
  { label: 'B', seats: 14, category: 'standard', aisles: [4, 10] },
  { label: 'C', seats: 14, category: 'standard', aisles: [4, 10] },
  { label: 'D', seats: 12, category: 'premium' },
];

describe('seat map aisles in Chromium', { skip: skipBrowser }, () => {
  let t: TestApp;
  let browser: Browser;

  before(async () => {
    t = await startTestApp();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await t.close();
  });

  it('draws a gap, one seat wide, after each seat the layout puts an aisle after, and nowhere else; keyboard and labels unchanged', async () => {
    const admin = await signUpAdmin(t);
    const show = await makeShow(t, admin, { rows: ROWS, prices: { accessible: 900, standard: 1200, premium: 1650 } });
    const seats = await seatMap(t, show.id);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const watched = watchPage(page);
      await page.goto(`${t.url}/#/shows/${show.id}`);
      await page.locator('.live[data-live="true"]').waitFor({ timeout: 10_000 });

      // Each row as the page lays it out: seat numbers, `|` for an empty space.
      const drawn: unknown = await page.evaluate(
        "[...document.querySelectorAll('.seatmap .seat-row')].map((row) => [...row.children].filter((c) => !c.classList.contains('row-label')).map((c) => c.classList.contains('aisle') ? '|' : c.textContent).join(' '))",
      );
      assert.deepEqual(drawn, [
        '1 2 | 3 4 5 6 7 8',
        '1 2 3 4 | 5 6 7 8 9 10 | 11 12 13 14',
        '1 2 3 4 | 5 6 7 8 9 10 | 11 12 13 14',
        '1 2 3 4 5 6 7 8 9 10 11 12',
      ]);

      // The gap is there on screen: from B4 to B5 is two steps (a seat-wide space between), from B3 to B4 one.
      const left = async (row: string, n: number) => {
        const seat = seats.find((s) => s.row === row && s.number === n);
        assert.ok(seat, `seat ${row}${n}`);
        const box = await page.locator(`button.seat[data-seat-id="${seat.id}"]`).boundingBox();
        assert.ok(box);
        return box.x;
      };
      const [b3, b4, b5] = [await left('B', 3), await left('B', 4), await left('B', 5)];
      const step = b4 - b3;
      assert.ok(step > 10 && Math.abs(b5 - b4 - 2 * step) < 1.5, `B4 → B5 is ${b5 - b4} px, B3 → B4 ${step} px`);
      // The widest row counts its aisles: 14 seats and 2 aisles size the seats.
      assert.equal(await page.locator('.seatmap').getAttribute('style'), '--cols: 16');

      // Arrow keys walk over the aisle; labels do not change.
      const b4Seat = seats.find((s) => s.row === 'B' && s.number === 4);
      assert.ok(b4Seat);
      await page.locator(`button.seat[data-seat-id="${b4Seat.id}"]`).focus();
      await page.keyboard.press('ArrowRight');
      assert.match((await page.locator(':focus').getAttribute('aria-label')) ?? '', /^Row B, seat 5, standard, \$12\.00, available$/);
      await screenshot(page, 'seat-map-aisles');
      assert.deepEqual(watched.problems().filter((p) => !/\/seats\/stream net::ERR_ABORTED$/.test(p)), []);
    } finally {
      await context.close();
    }
  });
});
