/**
 * Property-based fuzzing of every endpoint, driven by the OpenAPI document that the
 * validation schemas generate: malformed and boundary bodies, query strings and path ids.
 * Every answer must be below 500, every error problem+json with a code, and the server
 * healthy afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import fc from 'fast-check';
import { makeShow, seatMap } from './builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type SignedIn, type TestApp } from './helpers.ts';
import { checkInvariants } from './invariants.ts';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
}
interface Operation {
  parameters?: { name: string; in: string; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
let realIds: string[];
let tried = 0;
const seen = new Map<number, number>();

before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0', MAX_PENDING_HOLDS_PER_USER: '1000' });
  admin = await signUpAdmin(t);
  [customer] = (await makeUsers(t, 1)) as [SignedIn];
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  realIds = [show.id, show.movieId, show.screenId, show.theatreId, ...seats.slice(0, 3).map((s) => s.id)];
});
after(async () => {
  console.log(`# fuzz: ${tried} generated requests; answers by status ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  await t.close();
});

const boundaryString = fc.oneof(
  fc.constantFrom('', ' ', 'a', 'x'.repeat(257), 'x'.repeat(5000), '\u0000', '💥🎟️', '<script>alert(1)</script>', "' OR 1=1 --", '%', '_', '\\', 'null', 'tok_visa', 'tok_declined', '2030-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000000'),
  fc.string({ maxLength: 40 }),
  fc.uuid(),
);
const boundaryNumber = fc.oneof(fc.constantFrom(0, -1, 1, 0.5, 600, 601, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2147483648), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const anyJson = fc.oneof(boundaryString, boundaryNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

function typed(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (schema === undefined || depth > 3) return anyJson;
  const wrong = anyJson;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  let right: fc.Arbitrary<unknown> = anyJson;
  if (schema.enum) right = fc.constantFrom(...schema.enum);
  else if (types.includes('string')) right = fc.oneof(boundaryString, fc.constantFrom(...realIds));
  else if (types.includes('integer') || types.includes('number')) right = boundaryNumber;
  else if (types.includes('array')) right = fc.array(typed(schema.items, depth + 1), { maxLength: 12 });
  else if (types.includes('object') || schema.properties) right = objectOf(schema, depth + 1);
  else if (schema.anyOf?.[0]) right = typed(schema.anyOf[0], depth + 1);
  return fc.oneof({ arbitrary: right, weight: 4 }, { arbitrary: wrong, weight: 1 });
}

function objectOf(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const props = Object.entries(schema.properties ?? {});
  const record = fc.record(Object.fromEntries(props.map(([k, s]) => [k, typed(s, depth)])), { requiredKeys: [] });
  return fc.oneof(
    { arbitrary: record, weight: 5 },
    { arbitrary: fc.tuple(record, fc.string({ minLength: 1, maxLength: 12 }), anyJson).map(([o, k, v]) => ({ ...(o as object), [k]: v })), weight: 1 },
    { arbitrary: anyJson, weight: 1 },
  );
}

it(`fuzz: every endpoint × ${RUNS} generated requests → never a 5xx, errors are problem+json, server healthy after`, async () => {
  const doc = await t.request<{ paths: Record<string, Record<string, Operation>> }>('GET', '/openapi.json');
  for (const [route, ops] of Object.entries(doc.body.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (route.endsWith('/stream')) continue; // a stream stays open; its path id is fuzzed via /seats
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
      const bodySchema = op.requestBody?.content['application/json']?.schema;
      const arb = fc.record({
        ids: fc.array(fc.oneof(fc.constantFrom(...realIds), fc.uuid(), boundaryString), { minLength: pathParams.length, maxLength: pathParams.length }),
        query: fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(boundaryString, boundaryNumber.map(String))])), { requiredKeys: [] }),
        body: bodySchema ? objectOf(bodySchema, 0) : fc.constant(undefined),
        raw: fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: fc.constantFrom('{', '{"a":', '[1,', 'nul', '"\\u0000"', '{}}', '\u0000'), weight: 1 }),
        who: fc.constantFrom('admin', 'customer', 'anonymous'),
      });
      await fc.assert(
        fc.asyncProperty(arb, async (input) => {
          let path = route;
          pathParams.forEach((p, i) => (path = path.replace(`{${p.name}}`, encodeURIComponent(String(input.ids[i])))));
          const qs = new URLSearchParams(Object.entries(input.query).map(([k, v]): [string, string] => [k, String(v)])).toString();
          const token = input.who === 'admin' ? admin.token : input.who === 'customer' ? customer.token : undefined;
          const res = await t.request(method.toUpperCase(), qs ? `${path}?${qs}` : path, {
            token,
            ...(input.raw !== null && method !== 'get' ? { rawBody: input.raw } : input.body === undefined || method === 'get' ? {} : { body: input.body }),
          });
          tried++;
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          assert.ok(res.status < 500, `${method.toUpperCase()} ${path} → ${res.status} ${res.text.slice(0, 300)}`);
          if (res.status >= 400) {
            assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
            assert.match((res.body as { code?: string }).code ?? '', /^[A-Z_]+$/);
          }
        }),
        { numRuns: RUNS },
      );
    }
  }
  assert.ok(tried >= RUNS * 25, `${tried} requests`);
  assert.equal((await t.request('GET', '/ready')).status, 200);
  const report = await checkInvariants((q) => t.sql(q));
  assert.deepEqual(report.violations, []);
});
