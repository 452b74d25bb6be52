/**
 * Real-browser tests: playwright-core driving Debian's chromium-headless-shell (`.ci/run`
 * installs it when missing). Without a browser a test file skips, except in CI
 * (CI=true), where a missing browser is a failure. Screenshots go to .artifacts/ (gitignored),
 * which CI keeps for people to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium'];
export const chromiumPath = candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p));

/** The reason to skip a browser test file, or false (run it; in CI a missing browser fails the launch). */
export const skipBrowser: string | false =
  chromiumPath === undefined && process.env['CI'] !== 'true'
    ? 'chromium-headless-shell is not installed (apt-get install -y chromium-headless-shell, or set CHROMIUM_PATH)'
    : false;

export const artifactsDir = path.resolve(import.meta.dirname, '..', '.artifacts');

/** Launches headless Chromium with the flags this closed network needs, plus `extraArgs`. */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  if (chromiumPath === undefined) throw new Error('chromium-headless-shell is not installed (apt-get install -y chromium-headless-shell, or set CHROMIUM_PATH)');
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/** Saves a screenshot of the page under .artifacts/ (name without extension). */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Collects the page's console errors and failed requests, for assertion messages. */
export function watchPage(page: Page): { problems: () => string[] } {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return { problems: () => [...problems] };
}

/**
 * Polls a page expression until it is true. (page.waitForFunction evaluates its string with
 * eval, which the pages' CSP, script-src 'self', rightly refuses.)
 */
export async function until(page: Page, expression: string, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await page.evaluate(expression)) !== true) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Before a screenshot: no hover look, and every transition over. */
export async function settle(page: Page): Promise<void> {
  await page.mouse.move(0, 0);
  await until(page, 'document.getAnimations().length === 0', 'transitions to end');
}
