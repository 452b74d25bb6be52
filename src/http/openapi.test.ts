/**
 * The OpenAPI document meets what `npm run lint:api` (Redocly recommended, Spectral
 * spectral:oas) checks in CI, so a regression shows up in the ordinary test run too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signUp, startTestApp, type TestApp } from '../../test/helpers.ts';

interface Operation {
  operationId?: string;
  tags?: string[];
  description?: string;
  security?: unknown[];
  responses: Record<string, { description?: string; headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown }> }>;
}
interface Doc {
  info: { contact?: unknown; license?: unknown };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let t: TestApp;
let doc: Doc;
before(async () => {
  t = await startTestApp();
  doc = (await t.request<Doc>('GET', '/openapi.json')).body;
});
after(async () => {
  await t.close();
});

const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

describe('OpenAPI document (lint rules)', () => {
  it('info has contact and license; every tag used is declared with a description', () => {
    assert.ok(doc.info.contact);
    assert.ok(doc.info.license);
    const declared = new Map((doc.tags ?? []).map((tag) => [tag.name, tag.description]));
    for (const { path, method, op } of operations()) {
      for (const tag of op.tags ?? []) assert.ok(declared.get(tag), `${method} ${path}: tag ${tag} declared with a description`);
    }
  });

  it('every operation has a unique verb-first operationId, a description and an explicit security', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, `${method} ${path}`);
      assert.ok(!ids.has(op.operationId ?? ''), `duplicate operationId ${op.operationId}`);
      ids.add(op.operationId ?? '');
      assert.ok(op.description, `${method} ${path}: description`);
      assert.ok(Array.isArray(op.security), `${method} ${path}: security (public ones say [])`);
    }
    assert.ok(ids.has('holdSeats') && ids.has('confirmBooking') && ids.has('getSeatMap'));
  });

  it('uuid and date-time are formats without zod\'s regex patterns', () => {
    const text = JSON.stringify(doc);
    assert.ok(text.includes('"format":"uuid"'));
    assert.ok(text.includes('"format":"date-time"'));
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === 'object' && node !== null) {
        const record = node as Record<string, unknown>;
        if (record['format'] === 'uuid' || record['format'] === 'date-time' || record['format'] === 'email') {
          assert.equal(record['pattern'], undefined, `pattern next to format ${record["format"]}`);
        }
        Object.values(record).forEach(walk);
      }
    };
    walk(doc);
  });
});

type Json = Record<string, unknown>;
const problemResponses = function* () {
  for (const { path, method, op } of operations()) {
    for (const [status, r] of Object.entries(op.responses)) {
      const schema = r.content?.['application/problem+json']?.schema;
      if (schema !== undefined) yield { where: `${method} ${path} ${status}`, schema: schema as Json, r };
    }
  }
};
/** The codes a problem schema allows: from its enums and the named problems it references. */
function codesIn(schema: Json): string[] {
  const text = JSON.stringify(schema);
  const codes = [...text.matchAll(/"enum":\[([^\]]*)\]/g)].flatMap((m) => JSON.parse(`[${m[1] ?? ''}]`) as string[]);
  if (text.includes('#/components/schemas/ValidationProblem')) codes.push('VALIDATION_FAILED');
  if (text.includes('#/components/schemas/SeatsUnavailableProblem')) codes.push('SEATS_UNAVAILABLE');
  return codes;
}

describe('OpenAPI document (what a generated client needs)', () => {
  it('resources and errors are named component schemas, referenced with $ref', () => {
    for (const name of ['Booking', 'BookingPage', 'Show', 'ShowPage', 'SeatMap', 'Seat', 'Movie', 'MoviePage', 'Theatre', 'TheatreWithScreens', 'Screen', 'User', 'AuthResponse', 'Problem', 'ValidationProblem', 'SeatsUnavailableProblem']) {
      assert.ok(doc.components.schemas[name], name);
    }
    const hold = doc.paths['/api/v1/bookings']?.['post'];
    assert.deepEqual(hold?.responses['201']?.content?.['application/json']?.schema, { $ref: '#/components/schemas/Booking' });
    const text = JSON.stringify(doc);
    assert.ok(!text.includes('#/$defs/'), 'no reference left to $defs');
  });

  it('Problem allows extra members; SeatsUnavailableProblem names unavailableSeatIds', () => {
    const problem = doc.components.schemas['Problem'] as Json;
    assert.notEqual(problem['additionalProperties'], false);
    assert.ok(JSON.stringify(doc.components.schemas['SeatsUnavailableProblem']).includes('unavailableSeatIds'));
  });

  it('every error response lists its codes as an enum', () => {
    let n = 0;
    for (const { where, schema } of problemResponses()) {
      assert.ok(codesIn(schema).length > 0, `${where}: code enum`);
      n++;
    }
    assert.ok(n > 50);
    const hold409 = doc.paths['/api/v1/bookings']?.['post']?.responses['409']?.content?.['application/problem+json']?.schema as Json;
    assert.deepEqual(codesIn(hold409).sort(), ['HOLD_LIMIT_REACHED', 'REHOLD_COOLDOWN', 'SEATS_UNAVAILABLE', 'SEAT_LIMIT_REACHED', 'SHOW_NOT_BOOKABLE']);
  });

  it('headers, the event stream, 304, 415 and path ids are documented', () => {
    const ops = doc.paths;
    assert.ok(ops['/api/v1/bookings']?.['post']?.responses['201']?.headers?.['Location']);
    assert.ok(ops['/api/v1/bookings']?.['post']?.responses['201']?.headers?.['Idempotent-Replayed']);
    assert.ok(ops['/api/v1/bookings']?.['post']?.responses['415']);
    const seats = ops['/api/v1/shows/{id}/seats']?.['get'];
    assert.ok(seats?.responses['200']?.headers?.['ETag']);
    assert.ok(seats?.responses['304']?.headers?.['ETag']);
    assert.ok(seats?.responses['404'], 'a non-UUID id answers 404: documented');
    assert.ok(ops['/api/v1/shows/{id}/seats/stream']?.['get']?.responses['200']?.content?.['text/event-stream']);
    assert.ok(ops['/api/v1/auth/login']?.['post']?.responses['429']?.headers?.['RateLimit']);
    assert.ok(ops['/api/v1/auth/login']?.['post']?.responses['200']?.headers?.['Cache-Control']);
    for (const { where, r } of problemResponses()) assert.ok(r.headers?.['X-Request-Id'], `${where}: X-Request-Id`);
  });
});

describe('Cache-Control: no-store on tokens and personal data', () => {
  it('register, login, refresh, /me and bookings: no-store; the public catalogue: not', async () => {
    const user = await signUp(t);
    const login = await t.request<{ refreshToken: string }>('POST', '/api/v1/auth/login', { body: { email: user.email, password: 'correct horse battery' } });
    assert.equal(login.status, 200);
    assert.equal(login.headers.get('cache-control'), 'no-store');
    const refresh = await t.request('POST', '/api/v1/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    assert.equal(refresh.status, 200);
    assert.equal(refresh.headers.get('cache-control'), 'no-store');
    const register = await t.request('POST', '/api/v1/auth/register', { body: { email: `x-${user.id}@example.com`, password: 'correct horse battery', name: 'X' } });
    assert.equal(register.status, 201);
    assert.equal(register.headers.get('cache-control'), 'no-store');
    for (const path of ['/api/v1/me', '/api/v1/bookings']) {
      const res = await t.request('GET', path, { token: user.token });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
    }
    const movies = await t.request('GET', '/api/v1/movies');
    assert.equal(movies.status, 200);
    assert.equal(movies.headers.get('cache-control'), null);
  });
});
