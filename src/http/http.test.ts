import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createLogger } from '../logger.ts';
import { startWebServer, stopWebServer } from '../server.ts';
import { httpRequest, signUp, startTestApp, type TestApp, type Problem } from '../../test/helpers.ts';
import { errorHandler, toAppError } from './problem.ts';
import { installRequestLogger } from './request-log.ts';


const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, cb) {
    logLines.push(chunk.toString());
    cb();
  },
});

let t: TestApp;
before(async () => {
  t = await startTestApp({ LOG_LEVEL: 'info', BODY_LIMIT: '1kb' }, { logStream });
});
after(async () => {
  await t.close();
});

describe('problem+json', () => {
  it('unknown route → 404 NOT_FOUND problem+json', async () => {
    const res = await t.request<Problem>('GET', '/api/v1/no-such-thing');
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, 'NOT_FOUND');
    assert.equal(res.body.status, 404);
    assert.ok(res.body.type && res.body.title && res.body.detail);
  });

  it('malformed JSON → 400 MALFORMED_JSON', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/login', { rawBody: '{"email": "a@b.c",' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'MALFORMED_JSON');
  });

  it('body over the size limit → 413 PAYLOAD_TOO_LARGE, nothing stored', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/register', {
      body: { email: 'big@example.com', password: 'password123', name: 'x'.repeat(4000) },
    });
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'PAYLOAD_TOO_LARGE');
    assert.equal((await t.sql(`SELECT 1 FROM users WHERE email = 'big@example.com'`)).length, 0);
  });

  it('a NUL character in a field or query (found by the fuzzer) → 422 naming it, not 500', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/register', { body: { email: 'nul@example.com', password: 'password123', name: 'a\u0000b' } });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.errors?.map((e) => e.path), ['name']);
    const q = await t.request<Problem>('GET', '/api/v1/movies?language=%00');
    assert.equal(q.status, 422);
    assert.deepEqual(q.body.errors?.map((e) => e.path), ['language']);
  });

  it('body that is not JSON (text/plain) → 415, not 500', async () => {
    const res = await t.request<Problem>('POST', '/api/v1/auth/login', {
      rawBody: 'email=a',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 415);
    assert.equal(res.body.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a thrown error → 500 that leaks nothing and is logged with the request id', async () => {
    const app = express();
    const logger = createLogger('error', logStream);
    installRequestLogger(app.request, logger);
    app.use((req, _res, next) => {
      req.id = 'req-500-test';
      next();
    });
    app.get('/boom', () => {
      throw new Error('secret internals: password=hunter2 at /srv/db.ts:42');
    });
    app.use(errorHandler('1kb'));
    const { server, url } = await startWebServer(app, 0);
    try {
      const res = await httpRequest<Problem>(url, 'GET', '/boom');
      assert.equal(res.status, 500);
      assert.equal(res.body.code, 'INTERNAL');
      assert.ok(!res.text.includes('hunter2') && !res.text.includes('db.ts'), res.text);
      assert.ok(res.body.detail.includes('req-500-test'));
      assert.ok(logLines.some((l) => l.includes('req-500-test') && l.includes('unhandled error')));
    } finally {
      await stopWebServer(server, 100);
    }
  });
});

describe('SQLSTATE mapping', () => {
  it('an untranslated unique or exclusion violation → 409 CONFLICT; lock/statement timeouts and lost connections → 503; bad input → 422', () => {
    const pgErr = (code: string) => Object.assign(new Error('db'), { code });
    assert.equal(toAppError(pgErr('23505'), '1kb')?.status, 409);
    assert.equal(toAppError(pgErr('23P01'), '1kb')?.code, 'CONFLICT');
    for (const code of ['55P03', '57014', '40P01', '40001', '57P01', '08006']) assert.equal(toAppError(pgErr(code), '1kb')?.status, 503, code);
    for (const code of ['22P02', '22021', '23514']) assert.equal(toAppError(pgErr(code), '1kb')?.status, 422, code);
    assert.equal(toAppError(new Error('Connection terminated unexpectedly'), '1kb')?.status, 503);
    assert.equal(toAppError(new Error('something else'), '1kb'), undefined);
  });
});

describe('operations', () => {
  it('/health and /ready → 200', async () => {
    assert.equal((await t.request('GET', '/health')).status, 200);
    const ready = await t.request<{ status: string }>('GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });

  it('/ready → 503 SERVICE_UNAVAILABLE with Retry-After while the database does not answer', async () => {
    const down = await startTestApp({ DB_CONNECTION_TIMEOUT_MS: '500' });
    try {
      // Point the app's pool at a port nobody listens on by ending it and swapping in a dead one.
      await down.db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      const pgmod = (await import('pg')).default;
      const dead = new pgmod.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none', connectionTimeoutMillis: 300 });
      const original = down.db.pool.query.bind(down.db.pool);
      (down.db.pool as { query: unknown }).query = dead.query.bind(dead);
      const started = Date.now();
      const res = await down.request<Problem>('GET', '/ready');
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'SERVICE_UNAVAILABLE');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.ok(Date.now() - started < 3000, 'answers fast');
      (down.db.pool as { query: unknown }).query = original;
      assert.equal((await down.request('GET', '/ready')).status, 200);
      await dead.end();
    } finally {
      await down.close();
    }
  });

  it('/metrics → Prometheus text with request counts by route and status, latency and pool use', async () => {
    await t.request('GET', '/api/v1/me');
    const res = await t.request('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.text, /http_requests_total\{method="GET",route="\/api\/v1\/me",status="401"\} \d+/);
    assert.match(res.text, /http_request_duration_seconds_bucket\{/);
    assert.match(res.text, /db_pool_connections\{state="waiting"\} \d+/);
    assert.match(res.text, /db_pool_connections\{state="in_use"\} \d+/);
  });

  it('/openapi.json → OpenAPI 3.1 built from the validation schemas; /docs → a page', async () => {
    const res = await t.request<{ openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[]; additionalProperties?: boolean } }> } }>> }>(
      'GET',
      '/openapi.json',
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const register = res.body.paths['/api/v1/auth/register']?.['post'];
    const schema = register?.requestBody?.content['application/json']?.schema;
    assert.deepEqual(schema?.required?.sort(), ['email', 'name', 'password']);
    assert.equal(schema?.additionalProperties, false);
    const docs = await t.request('GET', '/docs/');
    assert.equal(docs.status, 200);
    assert.match(docs.text, /swagger-ui/i);
  });

  it('security headers: helmet on, no X-Powered-By; request id echoed', async () => {
    const res = await t.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    const generated = await t.request('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('CORS: preflight is answered', async () => {
    const res = await t.request('OPTIONS', '/api/v1/movies', {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});

describe('logs', () => {
  it('logs: JSON lines with a request id; no password or token ever appears', async () => {
    const u = await signUp(t, { password: 'very-secret-password' });
    await t.request('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'very-secret-password' } });
    await t.request('GET', '/api/v1/me', { token: u.token });
    const all = logLines.join('');
    assert.ok(!all.includes('very-secret-password'));
    assert.ok(!all.includes(u.token));
    assert.ok(!all.includes(u.refreshToken));
    const lines = logLines.map((l) => JSON.parse(l) as { req?: { id?: string; url?: string } });
    const meLine = lines.find((l) => l.req?.url === '/api/v1/me');
    assert.ok(meLine?.req?.id, 'request line carries its id');
  });
});
