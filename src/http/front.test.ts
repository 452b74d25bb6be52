/**
 * The front middleware (front.ts) and the lean res.json (json-response.ts): the stack made
 * cheap must answer exactly as the middleware it replaced — helmet's and cors's headers, one
 * log line and one metrics sample per request, the JSON framing — on every kind of route.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import cors from 'cors';
import express from 'express';
import { startWebServer, stopWebServer } from '../server.ts';
import { signUp, startTestApp, type Problem, type TestApp } from '../../test/helpers.ts';
import { corsOptions } from './front.ts';
import { headersSetBy, securityHeaderMiddleware, strictTransportSecurityMiddleware } from './security-headers.ts';

interface LogLine {
  level: number;
  msg: string;
  req?: { id?: string; method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}
const logLines: LogLine[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString().split('\n')) if (l !== '') logLines.push(JSON.parse(l) as LogLine);
    cb();
  },
});

let t: TestApp;
before(async () => {
  t = await startTestApp({ LOG_LEVEL: 'info' }, { logStream });
});
after(async () => {
  await t.close();
});

/** Raw GET/HEAD/OPTIONS with node:http (fetch hides some headers and bodies). */
function raw(url: string, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The headers that depend on the answer, not on the stack. */
const ANSWER_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'etag', 'x-request-id', 'cache-control', 'www-authenticate']);
const stackHeaders = (h: http.IncomingHttpHeaders) => Object.fromEntries(Object.entries(h).filter(([k]) => !ANSWER_HEADERS.has(k)).sort(([a], [b]) => a.localeCompare(b)));

describe('headers', () => {
  it('every answer carries exactly the headers helmet and cors set as middleware (the stack before ADR 0015), on /health, a cached seat map, a 404, a 401 problem and /docs', async () => {
    // The previous stack, as middleware, answering every path.
    const ref = express();
    ref.disable('x-powered-by');
    ref.use(securityHeaderMiddleware());
    ref.use(cors(corsOptions('*')));
    ref.use((_req, res) => {
      res.json({});
    });
    const { server, url } = await startWebServer(ref, 0);
    try {
      const expected = stackHeaders((await raw(url, 'GET', '/')).headers);
      assert.equal(expected['access-control-allow-origin'], '*');
      assert.ok(expected['content-security-policy']?.includes("default-src 'self'"));
      const showId = '00000000-0000-4000-8000-000000000000';
      for (const path of ['/health', '/api/v1/movies', `/api/v1/shows/${showId}/seats`, '/api/v1/no-such-thing', '/api/v1/me', '/docs/']) {
        const got = await raw(t.url, 'GET', path);
        assert.deepEqual(stackHeaders(got.headers), expected, path);
        assert.match(String(got.headers['x-request-id']), /^[0-9a-f-]{36}$/, path);
      }
    } finally {
      await stopWebServer(server, 100);
    }
  });

  it('HSTS: sent when the request is https through a trusted proxy (TRUST_PROXY=1, X-Forwarded-Proto: https), as helmet sends it; not over plain http', async () => {
    const proxied = await startTestApp({ TRUST_PROXY: '1' });
    try {
      const [[, expected] = ['', '']] = headersSetBy(strictTransportSecurityMiddleware());
      const https = await raw(proxied.url, 'GET', '/health', { 'X-Forwarded-Proto': 'https' });
      assert.equal(https.headers['strict-transport-security'], expected);
      assert.equal((await raw(proxied.url, 'GET', '/health')).headers['strict-transport-security'], undefined);
    } finally {
      await proxied.close();
    }
  });

  it('CORS allow-list: an allowed origin is echoed with Vary: Origin, another origin gets no Allow-Origin; preflights are answered 204 with the allowed headers', async () => {
    const listed = await startTestApp({ CORS_ORIGINS: 'https://app.example.com' });
    try {
      const allowed = await raw(listed.url, 'GET', '/health', { Origin: 'https://app.example.com' });
      assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
      assert.match(String(allowed.headers['vary']), /Origin/);
      assert.equal(allowed.headers['access-control-expose-headers'], 'Location,ETag,Retry-After,X-Request-Id,RateLimit,RateLimit-Policy,Idempotent-Replayed,Allow');
      const other = await raw(listed.url, 'GET', '/health', { Origin: 'https://evil.example.com' });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
      const preflight = await raw(listed.url, 'OPTIONS', '/api/v1/bookings', { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-headers'], 'Authorization,Content-Type,Idempotency-Key,If-None-Match,X-Request-Id,Last-Event-ID');
      assert.equal(preflight.headers['x-content-type-options'], 'nosniff');
    } finally {
      await listed.close();
    }
  });

  it("CORS '*': a preflight is answered 204 by cors, with the security headers and a request id", async () => {
    const res = await raw(t.url, 'OPTIONS', '/api/v1/bookings', { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(String(res.headers['access-control-allow-methods']), /POST/);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});

describe('request log and metrics', () => {
  const counted = async (route: string, status: number) => {
    const m = (await t.request('GET', '/metrics')).text;
    const line = new RegExp(`^http_requests_total\\{method="GET",route="${route.replaceAll('/', '\\/')}",status="${status}"\\} (\\d+)$`, 'm').exec(m);
    return Number(line?.[1] ?? 0);
  };

  it('one line per request, after the answer: its id, method, URL (token values redacted), status and time; counted once in the metrics', async () => {
    const u = await signUp(t);
    const before = await counted('/api/v1/me', 200);
    const id = `log-${Date.now()}`;
    const res = await t.request('GET', `/api/v1/me?token=secret-in-a-link&x=1`, { token: u.token, headers: { 'x-request-id': id } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id);
    assert.equal(await counted('/api/v1/me', 200), before + 1);
    const mine = logLines.filter((l) => l.req?.id === id);
    assert.equal(mine.length, 1, JSON.stringify(mine));
    const [line] = mine as [LogLine];
    assert.equal(line.msg, 'request completed');
    assert.equal(line.level, 30);
    assert.deepEqual(line.req, { id, method: 'GET', url: '/api/v1/me?token=[redacted]&x=1' });
    assert.deepEqual(line.res, { statusCode: 200 });
    assert.ok(typeof line.responseTime === 'number' && line.responseTime >= 0);
    assert.ok(!JSON.stringify(logLines).includes('secret-in-a-link'));
  });

  it('/health and /metrics are counted but not logged; a 404 is logged and counted as unmatched', async () => {
    const id = `probe-${Date.now()}`;
    const before = await counted('/health', 200);
    await t.request('GET', '/health', { headers: { 'x-request-id': id } });
    assert.equal(await counted('/health', 200), before + 1);
    assert.equal(logLines.filter((l) => l.req?.id === id).length, 0);
    const missing = `missing-${Date.now()}`;
    const unmatched = await counted('unmatched', 404);
    await t.request('GET', '/no/such/path', { headers: { 'x-request-id': missing } });
    assert.equal(await counted('unmatched', 404), unmatched + 1);
    assert.equal(logLines.filter((l) => l.req?.id === missing && l.res?.statusCode === 404).length, 1);
  });

  it('while draining: 503 SERVICE_UNAVAILABLE with Connection: close, logged at warn with the request id', async () => {
    const draining = await startTestApp({ LOG_LEVEL: 'info' }, { logStream });
    try {
      draining.app.drain();
      const id = `drain-${Date.now()}`;
      const res = await raw(draining.url, 'GET', '/api/v1/movies', { 'x-request-id': id });
      assert.equal(res.status, 503);
      assert.equal(res.headers['connection'], 'close');
      assert.equal((JSON.parse(res.body) as Problem).code, 'SERVICE_UNAVAILABLE');
      const [line] = logLines.filter((l) => l.req?.id === id);
      assert.equal(line?.level, 40);
    } finally {
      await draining.close();
    }
  });
});

describe('JSON answers (lean res.json)', () => {
  it('Content-Type application/json with charset, Content-Length in bytes (non-ASCII included), the body as JSON.stringify writes it', async () => {
    const u = await signUp(t, { name: 'Zoë Ünïcödé 映画' });
    const res = await raw(t.url, 'GET', '/api/v1/me', { authorization: `Bearer ${u.token}` });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.equal((JSON.parse(res.body) as { name: string }).name, 'Zoë Ünïcödé 映画');
  });

  it('a problem keeps application/problem+json; HEAD answers the headers without a body', async () => {
    const problem = await raw(t.url, 'GET', '/api/v1/me');
    assert.equal(problem.status, 401);
    assert.equal(problem.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(Number(problem.headers['content-length']), Buffer.byteLength(problem.body));
    const head = await raw(t.url, 'HEAD', '/health');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(Number(head.headers['content-length']), Buffer.byteLength(JSON.stringify({ status: 'ok' })));
  });
});
