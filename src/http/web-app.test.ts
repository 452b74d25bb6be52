/**
 * The web app's files as the server serves them (src/http/web-app.ts): the pages, their
 * assets, revalidation, the CSP that applies to them, and a clear 503 when nothing is built.
 * What the pages do is tested in a real browser (test/web-*.test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { startWebServer, stopWebServer } from '../server.ts';
import { startTestApp, httpRequest, type TestApp } from '../../test/helpers.ts';
import { webAppRoutes, webRoot } from './web-app.ts';

describe('the web app files (built by npm run build:web, served at / and /door)', () => {
  let t: TestApp;
  before(async () => {
    assert.ok(existsSync(path.join(webRoot, 'index.html')), 'dist/web is built before the tests (npm test runs pretest: npm run build:web)');
    t = await startTestApp();
  });
  after(() => t.close());

  it('serves the booking app at / and the door page at /door as HTML that loads its module script', async () => {
    for (const [page, script] of [['/', '/assets/app.js'], ['/door', '/assets/door.js']] as const) {
      const res = await t.request('GET', page);
      assert.equal(res.status, 200, page);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.ok(res.text.includes(`<script type="module" src="${script}">`), `${page} loads ${script}`);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/, 'no inline script is allowed, and none is needed');
      const asset = await t.request('GET', script);
      assert.equal(asset.status, 200, script);
      assert.match(asset.headers.get('content-type') ?? '', /javascript/);
      assert.ok(asset.text.length > 0);
    }
  });

  it('revalidates assets with an ETag (304 when unchanged) and 404s a file that is not there', async () => {
    const first = await t.request('GET', '/styles.css');
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag');
    assert.ok(etag !== null);
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request, which rules out a 304.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(`${t.url}/styles.css`, { headers: { 'if-none-match': etag } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    assert.equal(status, 304);
    const missing = await t.request('GET', '/assets/nope.js');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as { code?: string }).code, 'NOT_FOUND');
  });

  it('does not serve files outside dist/web (path traversal)', async () => {
    for (const probe of ['/../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json']) {
      const res = await t.request('GET', probe);
      assert.ok(res.status === 404 || res.status === 400 || res.status === 403, `${probe}: ${res.status}`);
      assert.ok(!res.text.includes('"dependencies"'), probe);
    }
  });

  it('answers a clear 503 problem at / when the web app was never built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'marquee-web-'));
    const app = express();
    app.use(webAppRoutes(`${empty}/`));
    const { server, url } = await startWebServer(app, 0);
    try {
      const res = await httpRequest(url, 'GET', '/');
      assert.equal(res.status, 503);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match((res.body as { detail?: string }).detail ?? '', /npm run build:web/);
    } finally {
      await stopWebServer(server, 1000);
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
