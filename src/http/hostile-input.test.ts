/**
 * Hostile input that outside testing found (issue #10, items 1, 4 and 5): tiny bodies that
 * stalled the event loop, malformed percent-encoding and corrupt compressed bodies that
 * answered 500. Each attack is sent over HTTP exactly as an attacker would send it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { createLogger } from '../logger.ts';
import { makeShow, seatMap, type Show } from '../../test/builders.ts';
import { signUpAdmin, startTestApp, type Problem, type SignedIn, type TestApp } from '../../test/helpers.ts';
import { startWebServer, stopWebServer } from '../server.ts';
import { errorHandler, toAppError } from './problem.ts';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from './raw-body.ts';
import { installRequestLogger } from './request-log.ts';
import { MAX_FIELD_ERRORS } from './route.ts';

let t: TestApp;
let admin: SignedIn;
let show: Show;
before(async () => {
  t = await startTestApp({ BODY_LIMIT: '100kb', AUTH_RATE_LIMIT_PER_MINUTE: '0' });
  admin = await signUpAdmin(t);
  show = await makeShow(t, admin);
});
after(async () => {
  await t.close();
});

interface Answer {
  status: number;
  contentType: string;
  text: string;
  problem: Problem;
}

/** Sends exactly these bytes to exactly this path (fetch would normalise neither). */
function send(base: string, method: string, path: string, opts: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const url = new URL(base);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers: { ...headers, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const contentType = res.headers['content-type'] ?? '';
        resolve({ status: res.statusCode ?? 0, contentType, text, problem: (/json/.test(contentType) && text ? JSON.parse(text) : {}) as Problem });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertProblem(res: Answer, status: number, code: string, what: string): void {
  assert.equal(res.status, status, `${what} → ${res.status} ${res.text.slice(0, 200)}`);
  assert.match(res.contentType, /^application\/problem\+json/, what);
  assert.equal(res.problem.code, code, what);
  assert.equal(res.problem.status, status, what);
}

/** CPU time (all threads of this process: server and client) that fn takes. */
async function cpuMs(fn: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const ATTACK = '['.repeat(7000) + ']'.repeat(7000); // 14 KB; 49 bytes gzipped

describe('deeply nested JSON (issue #10 item 1)', () => {
  it('nested-array body of 7,000 levels, plain or gzipped to 49 bytes → 400 MALFORMED_JSON from the depth check, in milliseconds of CPU, not 500', async () => {
    const gz = zlib.gzipSync(ATTACK, { level: 9 });
    assert.ok(gz.length < 100, `gzipped attack is ${gz.length} bytes`);
    const answers: Answer[] = [];
    // Before the fix each of these cost 90–470 ms of blocked event loop (the NUL walk recursed,
    // copying its path at every level, until the stack overflowed) and answered 500.
    const used = await cpuMs(async () => {
      for (let i = 0; i < 5; i++) {
        answers.push(await send(t.url, 'POST', '/api/v1/auth/login', { body: ATTACK }));
        answers.push(await send(t.url, 'POST', '/api/v1/auth/login', { body: gz, headers: { 'content-encoding': 'gzip' } }));
      }
    });
    for (const res of answers) {
      assertProblem(res, 400, 'MALFORMED_JSON', 'deep body');
      // Refused by the linear pre-scan before JSON.parse: the detail names the depth limit.
      assert.equal(res.problem.detail, `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    }
    // A loose sanity bound (about 1.5 ms each here): ten attacks took ≥ 900 ms of CPU before.
    assert.ok(used < 250, `10 attacks used ${used.toFixed(0)} ms of CPU`);
    assert.equal((await send(t.url, 'GET', '/health')).status, 200);
  });

  it('deep objects, a deep value under a real field and an unclosed 100 KB of [ → 400 MALFORMED_JSON naming the depth limit', async () => {
    const bodies = [
      '{"a":'.repeat(5000) + '1' + '}'.repeat(5000),
      `{"email":${'['.repeat(40)}${']'.repeat(40)},"password":"x"}`,
      '['.repeat(100 * 1024),
    ];
    for (const body of bodies) {
      const res = await send(t.url, 'POST', '/api/v1/auth/login', { body });
      assertProblem(res, 400, 'MALFORMED_JSON', body.slice(0, 20));
      assert.match(res.problem.detail, /nested deeper than/);
    }
  });

  it(`nesting of exactly ${MAX_JSON_DEPTH} levels → parsed and validated (422); ${MAX_JSON_DEPTH + 1} → 400; brackets inside strings do not count`, async () => {
    const nest = (n: number) => '['.repeat(n - 1) + ']'.repeat(n - 1);
    const atLimit = await send(t.url, 'POST', '/api/v1/auth/login', { body: `{"email":${nest(MAX_JSON_DEPTH)},"password":"x"}` });
    assertProblem(atLimit, 422, 'VALIDATION_FAILED', 'at the limit');
    const over = await send(t.url, 'POST', '/api/v1/auth/login', { body: `{"email":${nest(MAX_JSON_DEPTH + 1)},"password":"x"}` });
    assertProblem(over, 400, 'MALFORMED_JSON', 'over the limit');
    // 100 brackets and an escaped quote inside a string: one level of nesting, an ordinary login.
    const inString = await send(t.url, 'POST', '/api/v1/auth/login', { body: JSON.stringify({ email: `a@b.co`, password: `\\"${'[{'.repeat(100)}` }) });
    assertProblem(inString, 401, 'INVALID_CREDENTIALS', 'brackets in a string');
  });

  it(`a body of more than ${MAX_JSON_VALUES} values (10,000 unknown keys, 30,000 empty objects) → 400 before parsing; ${MAX_FIELD_ERRORS} field errors at most`, async () => {
    const manyKeys = '{' + Array.from({ length: 10_000 }, (_, i) => `"k${i}":0`).join(',') + '}';
    const res = await send(t.url, 'POST', '/api/v1/auth/login', { body: manyKeys });
    // Before: 422 listing all 10,000 keys, a 540 KB answer.
    assertProblem(res, 400, 'MALFORMED_JSON', 'many keys');
    assert.equal(res.problem.detail, `The JSON body holds more than ${MAX_JSON_VALUES} values.`);
    const manyObjects = '[' + Array(30_000).fill('{}').join(',') + ']';
    assertProblem(await send(t.url, 'POST', '/api/v1/auth/login', { body: manyObjects }), 400, 'MALFORMED_JSON', 'many objects');

    const someKeys = '{' + Array.from({ length: 200 }, (_, i) => `"k${i}":0`).join(',') + '}';
    const listed = await send(t.url, 'POST', '/api/v1/auth/login', { body: someKeys });
    assertProblem(listed, 422, 'VALIDATION_FAILED', '200 unknown keys');
    assert.equal(listed.problem.errors?.length, MAX_FIELD_ERRORS);
    assert.match(listed.problem.detail, new RegExp(`first ${MAX_FIELD_ERRORS} problems`));
    assert.ok(listed.text.length < 5000, `${listed.text.length} bytes`);
  });

  it('a show with 1,000 price categories → 422 naming the cap, without validating each key', async () => {
    const prices = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`!bad-${i}`, -1]));
    const res = await send(t.url, 'POST', '/api/v1/shows', {
      body: JSON.stringify({ movieId: show.movieId, screenId: show.screenId, startsAt: '2030-01-01T18:00:00Z', prices }),
      headers: { authorization: `Bearer ${admin.token}` },
    });
    assertProblem(res, 422, 'VALIDATION_FAILED', 'many prices');
    // Before: 2,000 issues, one per bad key and value (40 ms of zod for 8,000 keys).
    assert.deepEqual(res.problem.errors, [{ path: 'prices', message: 'At most 60 seat categories.' }]);
  });

  it('a body in UTF-16 is depth-checked too; UTF-32 → 415', async () => {
    const deep = await send(t.url, 'POST', '/api/v1/auth/login', {
      body: Buffer.from('['.repeat(100) + ']'.repeat(100), 'utf16le'),
      headers: { 'content-type': 'application/json; charset=utf-16le' },
    });
    assertProblem(deep, 400, 'MALFORMED_JSON', 'utf-16 deep');
    assert.match(deep.problem.detail, /nested deeper than/);
    const ok = await send(t.url, 'POST', '/api/v1/auth/login', {
      body: Buffer.from(JSON.stringify({ email: 'a@b.co', password: 'x' }), 'utf16le'),
      headers: { 'content-type': 'application/json; charset=utf-16le' },
    });
    assertProblem(ok, 401, 'INVALID_CREDENTIALS', 'utf-16 login');
    const utf32 = await send(t.url, 'POST', '/api/v1/auth/login', { body: '{}', headers: { 'content-type': 'application/json; charset=utf-32' } });
    assertProblem(utf32, 415, 'UNSUPPORTED_MEDIA_TYPE', 'utf-32');
  });

  it('a compressed body that inflates past BODY_LIMIT (10 MB of gzip, deflate or brotli) → 413', async () => {
    const bomb = Buffer.alloc(10 * 1024 * 1024, '[');
    for (const [encoding, body] of [
      ['gzip', zlib.gzipSync(bomb)],
      ['deflate', zlib.deflateSync(bomb)],
      ['br', zlib.brotliCompressSync(bomb)],
    ] as const) {
      const res = await send(t.url, 'POST', '/api/v1/auth/login', { body, headers: { 'content-encoding': encoding } });
      assertProblem(res, 413, 'PAYLOAD_TOO_LARGE', encoding);
    }
  });
});

describe('malformed percent-encoding (issue #10 item 4)', () => {
  const paths = [
    '/api/v1/theatres/%ZZ',
    '/api/v1/shows/%',
    '/api/v1/screens/%E0%A4%A',
    '/api/v1/bookings/%ZZ',
    '/api/v1/shows/%ZZ/seats/stream',
    '/api/v1/shows/%ZZ/seats',
    '/api/v1/bookings/%ZZ/confirm',
    '/api/v1/movies/%FF',
    '/api/v1/users/%C0%AF',
    '/api/v1/no-such-route/%ZZ',
    '/no-such-path/%',
    '/docs/%ZZ',
    '/openapi.json?x=%ZZ',
    '/health?%',
    '/api/v1/movies?q=%E0%A4%A',
    '/api/v1/shows?city=%ZZ',
  ];

  it('a path or query with a bad escape → 400 MALFORMED_URL problem+json on every path and method, never 500', async () => {
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        const res = await send(t.url, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: '{}' });
        assertProblem(res, 400, 'MALFORMED_URL', `${method} ${path}`);
      }
    }
    // The same with a token (authenticated routes run their checks after the URL is read).
    assertProblem(await send(t.url, 'GET', '/api/v1/bookings/%ZZ', { headers: { authorization: `Bearer ${admin.token}` } }), 400, 'MALFORMED_URL', 'signed in');
  });

  it('a cached seat map is never answered for a bad escape in its path or query: 400', async () => {
    // Warm this process's seat-map cache, then aim at its route with the same 55-character shape.
    await seatMap(t, show.id);
    assert.equal((await send(t.url, 'GET', `/api/v1/shows/${show.id}/seats`)).status, 200);
    for (const path of [`/api/v1/shows/%ZZ${show.id.slice(3)}/seats`, `/api/v1/shows/${show.id.slice(0, -1)}%/seats`, `/api/v1/shows/${show.id}/seats?%ZZ`]) {
      assertProblem(await send(t.url, 'GET', path), 400, 'MALFORMED_URL', path);
    }
  });

  it("Express's router alone (no URL check in front): a bad escape in a path parameter → 400, not 500 — toAppError maps any 4xx status", async () => {
    const app = express();
    installRequestLogger(app.request, createLogger('silent'));
    app.get('/things/:id', (_req, res) => {
      res.json({});
    });
    app.use(errorHandler('1kb'));
    const { server, url } = await startWebServer(app, 0);
    try {
      const res = await send(url, 'GET', '/things/%ZZ');
      assertProblem(res, 400, 'MALFORMED_URL', 'router URIError');
    } finally {
      await stopWebServer(server, 100);
    }
  });

  it('toAppError: errors carrying a 4xx status or statusCode are that 4xx; zlib errors are 400; 5xx statuses stay unknown', () => {
    assert.equal(toAppError(Object.assign(new URIError('Failed to decode param'), { status: 400 }), '1kb')?.code, 'MALFORMED_URL');
    const methodNotAllowed = toAppError(Object.assign(new Error('nope'), { statusCode: 405 }), '1kb');
    assert.equal(methodNotAllowed?.status, 405);
    assert.equal(methodNotAllowed?.code, 'METHOD_NOT_ALLOWED');
    assert.equal(toAppError(Object.assign(new Error('x'), { status: 418 }), '1kb')?.status, 418);
    const zlibError = toAppError(Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR', errno: -3, status: 400 }), '1kb');
    assert.equal(zlibError?.code, 'MALFORMED_JSON');
    assert.equal(toAppError(Object.assign(new Error('x'), { status: 502 }), '1kb'), undefined);
  });
});

describe('corrupt compressed bodies (issue #10 item 5)', () => {
  const login = Buffer.from(JSON.stringify({ email: 'nobody@example.com', password: 'whatever' }));

  it('garbage or truncated gzip, deflate or brotli with Content-Encoding → 400 MALFORMED_JSON problem+json, not 500', async () => {
    const cases: [string, Buffer][] = [
      ['gzip', Buffer.from('not gzip at all')],
      ['gzip', zlib.gzipSync(login).subarray(0, 15)],
      ['gzip', Buffer.concat([zlib.gzipSync(login).subarray(0, 10), Buffer.from('corrupted deflate stream')])],
      ['gzip', Buffer.from('\x1f\x8b\x08\x00garbage')],
      ['deflate', Buffer.from('not deflate')],
      ['deflate', zlib.deflateSync(login).subarray(0, 6)],
      ['br', Buffer.from('not brotli at all, really')],
      ['br', zlib.brotliCompressSync(login).subarray(0, 5)],
      ['GZIP', Buffer.from('upper-case name, still garbage')],
    ];
    for (const [encoding, body] of cases) {
      const res = await send(t.url, 'POST', '/api/v1/auth/login', { body, headers: { 'content-encoding': encoding } });
      assertProblem(res, 400, 'MALFORMED_JSON', `${encoding} ${body.toString('hex').slice(0, 20)}`);
      assert.match(res.problem.detail, /compressed request body/);
    }
  });

  it('a sound compressed body is read as usual; an unknown Content-Encoding → 415', async () => {
    for (const [encoding, body] of [
      ['gzip', zlib.gzipSync(login)],
      ['deflate', zlib.deflateSync(login)],
      ['br', zlib.brotliCompressSync(login)],
    ] as const) {
      assertProblem(await send(t.url, 'POST', '/api/v1/auth/login', { body, headers: { 'content-encoding': encoding } }), 401, 'INVALID_CREDENTIALS', encoding);
    }
    assertProblem(await send(t.url, 'POST', '/api/v1/auth/login', { body: login, headers: { 'content-encoding': 'compress' } }), 415, 'UNSUPPORTED_MEDIA_TYPE', 'compress');
  });
});
