/**
 * /docs in a real browser (playwright-core driving Debian's chromium-headless-shell), reached
 * over plain http by the machine's own address and by a host name, as someone on the local
 * network opens it; and HSTS sent over https only.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { artifactsDir, launchBrowser, skipBrowser } from './browser.ts';
import { startWebServer, stopWebServer } from '../src/server.ts';
import { makeShow } from './builders.ts';
import { signUpAdmin, startTestApp, type TestApp } from './helpers.ts';

/** The machine's first non-loopback IPv4 address; 127.0.0.2 (still not "localhost" to a browser) where there is none. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.2';
}

let t: TestApp;
let port: number;
let browser: Browser | undefined;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  t = await startTestApp();
  cleanups.push(() => t.close());
  // Listening on every address, as `npm start` does (HOST=0.0.0.0).
  const { server } = await startWebServer(t.app.handler, 0, '0.0.0.0');
  cleanups.push(() => stopWebServer(server, 1000));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
});

/** Opens url in the browser; what was requested, the headers of every response, and the page. */
async function openDocs(url: string, screenshot: string, hostRules: string) {
  browser ??= await launchBrowser([`--host-resolver-rules=${hostRules}`]);
  const page = await browser.newPage();
  const requested: string[] = [];
  const failed: string[] = [];
  const responses: { url: string; headers: Record<string, string> }[] = [];
  page.on('request', (r) => requested.push(r.url()));
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => responses.push({ url: r.url(), headers: r.headers() }));
  const nav = await page.goto(url);
  assert.equal(nav?.status(), 200);
  // swagger-ui fetched /openapi.json and drew the operations: the bookings block is on screen.
  const bookings = page.locator('.opblock-summary-path', { hasText: /^\/api\/v1\/bookings$/ }).first();
  try {
    await bookings.waitFor({ state: 'visible', timeout: 15_000 });
    await bookings.scrollIntoViewIfNeeded();
  } catch (err) {
    throw new Error(`swagger-ui did not draw /api/v1/bookings; failed requests: ${failed.join(', ') || 'none'}`, { cause: err });
  } finally {
    mkdirSync(artifactsDir, { recursive: true });
    await page.screenshot({ path: path.join(artifactsDir, screenshot), fullPage: false });
  }
  const operations = await page.locator('.opblock').count();
  await page.close();
  return { requested, failed, responses, operations };
}

for (const [label, host, screenshot] of [
  ['by the host address', hostAddress(), 'docs-by-address.png'],
  ['by a host name', 'marquee.test', 'docs-by-name.png'],
] as const) {
  it(`GET /docs/ in Chromium over plain http ${label} → swagger-ui draws the operations, nothing upgraded to https, no HSTS`, { skip: skipBrowser }, async () => {
    const base = `http://${host}:${port}`;
    const { requested, failed, responses, operations } = await openDocs(`${base}/docs/`, screenshot, `MAP marquee.test ${hostAddress()}`);
    assert.ok(operations >= 10, `only ${operations} operations drawn`);
    assert.deepEqual(failed, [], 'every request of the page succeeded');
    assert.deepEqual(requested.filter((u) => !u.startsWith(`${base}/`)), [], 'every request stayed on plain http on the same origin');
    assert.ok(requested.some((u) => u.endsWith('/docs/swagger-ui-bundle.js')), 'swagger-ui itself was loaded');
    for (const r of responses) {
      assert.equal(r.headers['strict-transport-security'], undefined, `HSTS sent over http on ${r.url}`);
      assert.doesNotMatch(r.headers['content-security-policy'] ?? '', /upgrade-insecure-requests/, r.url);
    }
  });
}

const noOpenssl = spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed (needed for a throw-away certificate)';

it('HSTS: requests over https (/health, a seat map read twice: a miss, then a cached hit) → Strict-Transport-Security sent; the same over http → not sent', { skip: noOpenssl }, async () => {
  const admin = await signUpAdmin(t);
  const show = await makeShow(t, admin);
  const seats = `/api/v1/shows/${show.id}/seats`;
  const dir = mkdtempSync(path.join(tmpdir(), 'marquee-tls-'));
  try {
    // A throw-away self-signed certificate for 127.0.0.1.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tls = createHttpsServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, t.app.handler);
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    const get = (p: string) =>
      new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: (tls.address() as AddressInfo).port, path: p, rejectUnauthorized: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, hsts: res.headers['strict-transport-security'] }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      for (const p of ['/health', seats, seats]) {
        // The second seat map read is a cache hit: it still runs the whole stack.
        const r = await get(p);
        assert.equal(r.status, 200, p);
        assert.match(String(r.hsts), /^max-age=\d+/, p);
      }
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const p of ['/health', seats, seats]) {
    const plain = await fetch(`http://127.0.0.1:${port}${p}`);
    await plain.arrayBuffer();
    assert.equal(plain.status, 200, p);
    assert.equal(plain.headers.get('strict-transport-security'), null, p);
    // A client claiming https through X-Forwarded-Proto is not believed without a trusted proxy.
    const claimed = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { 'X-Forwarded-Proto': 'https' } });
    await claimed.arrayBuffer();
    assert.equal(claimed.headers.get('strict-transport-security'), null, p);
  }
});
