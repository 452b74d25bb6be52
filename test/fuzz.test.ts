/**
 * Property-based fuzzing of every endpoint, driven by the OpenAPI document that the
 * validation schemas generate: malformed and boundary bodies, query strings and path ids,
 * and the hostile shapes outside testing found (issue #10): malformed percent-encoding in
 * path ids and query strings, deeply nested bodies, and compressed bodies (gzip, deflate,
 * brotli) both sound and corrupt. Every answer must be below 500, every error problem+json
 * with a code, each hostile shape refused with its own code, and the server healthy after.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
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

/** Generated requests per endpoint (and for the paths outside the API): 33 × 305 = 10,065 in the default run. */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 305);
/** Endpoints fuzzed at once: requests of one endpoint run in order, endpoints side by side. */
const PARALLEL = 4;
let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
/** Users whose sessions the fuzz may end (logout-all, role changes): the shared tokens stay valid. */
let spareAdmin: SignedIn;
let spareCustomer: SignedIn;
let realIds: string[];
let tried = 0;
const seen = new Map<number, number>();
const shapes = new Map<string, number>();

before(async () => {
  t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: '0', MAX_PENDING_HOLDS_PER_USER: '1000' });
  admin = await signUpAdmin(t);
  [customer, spareCustomer] = (await makeUsers(t, 2)) as [SignedIn, SignedIn];
  [spareAdmin] = (await makeUsers(t, 1, 'admin')) as [SignedIn];
  const show = await makeShow(t, admin);
  const seats = await seatMap(t, show.id);
  realIds = [show.id, show.movieId, show.screenId, show.theatreId, spareCustomer.id, ...seats.slice(0, 3).map((s) => s.id)];
});
after(async () => {
  const bySize = (m: Map<string | number, number>) => JSON.stringify(Object.fromEntries([...m].sort()));
  console.log(`# fuzz: ${tried} generated requests; by shape ${bySize(shapes)}; answers by status ${bySize(seen)}`);
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

/** A percent sign that does not start a valid UTF-8 escape. */
const badEscape = fc.constantFrom('%', '%Z', '%ZZ', '%G0', '%1', '%%', '%u0041', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%F0%9F%8E', '%80', '%E0%A4%A4%');
const urlSafe = fc.stringMatching(/^[A-Za-z0-9._~-]{0,8}$/);
/** Never starts with a hex digit, which could complete the escape before it. */
const afterEscape = fc.stringMatching(/^([G-Zg-z._~-][A-Za-z0-9._~-]{0,7})?$/);
/** Text around a bad escape, sent as is (never encoded again): the URL stays malformed. */
const malformed = () => fc.tuple(fc.oneof(urlSafe, fc.constantFrom(...realIds)), badEscape, afterEscape).map(([a, bad, b]) => a + bad + b);

/** `[`, `{"a":` or a mix, deeper than any body may nest; closed or cut off, sometimes under a real field. */
const deepBody = fc
  .record({
    depth: fc.integer({ min: 33, max: 8000 }),
    open: fc.constantFrom('[', '{"a":', 'mix'),
    closed: fc.boolean(),
    field: fc.option(fc.constantFrom('email', 'seatIds', 'rows', 'prices', 'name'), { nil: undefined }),
  })
  .map(({ depth, open, closed, field }) => {
    const opens: string[] = [];
    for (let i = 0; i < depth; i++) opens.push(open === 'mix' ? (i % 3 === 0 ? '{"a":' : '[') : open);
    const closes = closed ? opens.map((o) => (o === '[' ? ']' : '}')).reverse().join('') : '';
    const inner = opens.join('') + (closed ? '1' : '') + closes;
    return field === undefined ? inner : `{"${field}":${inner}}`;
  });

type Encoding = 'gzip' | 'deflate' | 'br';
const compress = (encoding: Encoding, data: Buffer): Buffer =>
  encoding === 'gzip'
    ? zlib.gzipSync(data)
    : encoding === 'deflate'
      ? zlib.deflateSync(data)
      : zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });

/** A compressed body, sound or spoilt: cut short, one byte flipped, or replaced by garbage. */
const damage = fc.oneof(
  fc.record({ kind: fc.constant('sound' as const) }),
  fc.record({ kind: fc.constant('truncated' as const), keep: fc.double({ min: 0.05, max: 0.95, noNaN: true }) }),
  fc.record({ kind: fc.constant('flipped' as const), at: fc.double({ min: 0, max: 0.999, noNaN: true }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

interface Raw {
  status: number;
  contentType: string;
  text: string;
  code: string | undefined;
}

async function send(method: string, path: string, token: string | undefined, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await fetch(t.url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let code: string | undefined;
  if (/json/.test(contentType) && text.length > 0) code = (JSON.parse(text) as { code?: string }).code;
  tried++;
  seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
  return { status: res.status, contentType, text, code };
}

function checkAnswer(what: string, res: Raw, expected?: { status: number; code: string }): void {
  assert.ok(res.status < 500, `${what} → ${res.status} ${res.text.slice(0, 300)}`);
  if (res.status >= 400) {
    assert.match(res.contentType, /application\/problem\+json/, what);
    assert.match(res.code ?? '', /^[A-Z_]+$/, what);
  }
  if (expected !== undefined) {
    assert.equal(res.status, expected.status, `${what} → ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.code, expected.code, what);
  }
}

/** Runs the tasks, `limit` at a time. */
async function inParallel(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let task = queue.shift(); task !== undefined; task = queue.shift()) await task();
    }),
  );
}

it(`fuzz: every endpoint × ${RUNS} generated requests (schema-driven, malformed URLs, deep and compressed bodies) → never a 5xx, errors are problem+json, server healthy after`, async () => {
  const doc = await t.request<{ paths: Record<string, Record<string, Operation>> }>('GET', '/openapi.json');
  const tasks: (() => Promise<void>)[] = [];
  for (const [route, ops] of Object.entries(doc.body.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (route.endsWith('/stream')) continue; // a stream stays open; its path id is fuzzed via /seats
      const verb = method.toUpperCase();
      // Routes that end sessions get the spare users' tokens, so the rest keeps its coverage.
      const endsSessions = route.endsWith('/logout-all') || route.startsWith('/api/v1/users/');
      const [asAdmin, asCustomer] = endsSessions ? [spareAdmin, spareCustomer] : [admin, customer];
      const hasBody = method !== 'get';
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
      const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
      const bodySchema = op.requestBody?.content['application/json']?.schema;
      const bodyArb = bodySchema ? objectOf(bodySchema, 0) : fc.constant(undefined);
      const arb = fc.record({
        ids: fc.array(fc.oneof(fc.constantFrom(...realIds), fc.uuid(), boundaryString), { minLength: pathParams.length, maxLength: pathParams.length }),
        query: fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(boundaryString, boundaryNumber.map(String))])), { requiredKeys: [] }),
        body: bodyArb,
        raw: fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: fc.constantFrom('{', '{"a":', '[1,', 'nul', '"\\u0000"', '{}}', '\u0000'), weight: 1 }),
        who: fc.constantFrom('admin', 'customer', 'anonymous'),
        hostile: fc.oneof(
          { arbitrary: fc.constant({ shape: 'schema' as const }), weight: 6 },
          // A bad escape in one path id (when there is one), else in the query string.
          { arbitrary: fc.record({ shape: fc.constant('bad-url' as const), value: malformed(), inQuery: fc.boolean(), index: fc.nat() }), weight: 2 },
          ...(hasBody
            ? [
                { arbitrary: fc.record({ shape: fc.constant('deep' as const), text: deepBody, gzip: fc.boolean() }), weight: 1 },
                { arbitrary: fc.record({ shape: fc.constant('compressed' as const), encoding: fc.constantFrom<Encoding>('gzip', 'deflate', 'br'), damage }), weight: 2 },
              ]
            : []),
        ),
      });
      tasks.push(() =>
        fc.assert(
          fc.asyncProperty(arb, async (input) => {
            const { hostile } = input;
            const ids = input.ids.map((id) => encodeURIComponent(id));
            let extraQuery = '';
            if (hostile.shape === 'bad-url') {
              if (ids.length > 0 && !hostile.inQuery) ids[hostile.index % ids.length] = hostile.value;
              else extraQuery = `${queryParams[0]?.name ?? 'x'}=${hostile.value}`;
            }
            let path = route;
            pathParams.forEach((p, i) => (path = path.replace(`{${p.name}}`, ids[i] ?? '')));
            const qs = [new URLSearchParams(Object.entries(input.query).map(([k, v]): [string, string] => [k, String(v)])).toString(), extraQuery].filter((s) => s !== '').join('&');
            const target = qs ? `${path}?${qs}` : path;
            const token = input.who === 'admin' ? asAdmin.token : input.who === 'customer' ? asCustomer.token : undefined;
            const json = input.raw !== null ? input.raw : input.body === undefined ? undefined : JSON.stringify(input.body);
            const what = `${verb} ${target} (${hostile.shape})`;
            shapes.set(hostile.shape, (shapes.get(hostile.shape) ?? 0) + 1);

            if (hostile.shape === 'deep') {
              const body = hostile.gzip ? zlib.gzipSync(hostile.text) : hostile.text;
              const res = await send(verb, target, token, body, hostile.gzip ? { 'content-encoding': 'gzip' } : {});
              // Refused before parsing, before authentication: the same answer for everyone.
              checkAnswer(what, res, { status: 400, code: 'MALFORMED_JSON' });
              assert.match(res.text, /nested deeper than/, what);
            } else if (hostile.shape === 'compressed') {
              const { encoding, damage: d } = hostile;
              let body = compress(encoding, Buffer.from(json ?? '{}'));
              if (d.kind === 'truncated') body = body.subarray(0, Math.max(1, Math.floor(body.length * d.keep)));
              else if (d.kind === 'garbage') body = Buffer.from(d.bytes);
              else if (d.kind === 'flipped') {
                body = Buffer.from(body);
                const at = Math.floor(body.length * d.at);
                body[at] = (body[at] ?? 0) ^ d.xor;
              }
              const res = await send(verb, target, token, body, { 'content-encoding': encoding });
              shapes.set(`compressed-${d.kind}`, (shapes.get(`compressed-${d.kind}`) ?? 0) + 1);
              // A cut stream never inflates, nor does garbage for gzip and deflate. A flipped byte
              // may (gzip's header time, deflate's level bits, brotli has no checksum): only no 5xx.
              const refused = d.kind === 'truncated' || (d.kind === 'garbage' && encoding !== 'br');
              checkAnswer(what, res, refused ? { status: 400, code: 'MALFORMED_JSON' } : undefined);
            } else {
              const res = await send(verb, target, token, hasBody ? json : undefined);
              checkAnswer(what, res, hostile.shape === 'bad-url' ? { status: 400, code: 'MALFORMED_URL' } : undefined);
            }
          }),
          { numRuns: RUNS },
        ),
      );
    }
  }

  // Outside the API too: every method on unknown paths, /docs, /openapi.json and operations.
  const others = ['/docs/', '/docs/swagger-ui.css', '/openapi.json', '/health', '/ready', '/metrics', '/no-such-path', '/api/v1/no-such-route'];
  tasks.push(() =>
    fc.assert(
      fc.asyncProperty(fc.constantFrom(...others), fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), malformed(), fc.boolean(), async (base, method, bad, inQuery) => {
        const target = inQuery ? `${base}?q=${bad}` : `${base.replace(/\/$/, '')}/${bad}`;
        shapes.set('bad-url', (shapes.get('bad-url') ?? 0) + 1);
        checkAnswer(`${method} ${target}`, await send(method, target, undefined), { status: 400, code: 'MALFORMED_URL' });
      }),
      { numRuns: RUNS },
    ),
  );

  await inParallel(tasks, PARALLEL);
  assert.equal(tried, RUNS * tasks.length);
  if (process.env['FUZZ_RUNS'] === undefined) assert.ok(tried >= 10_000, `the default run sends ${tried} requests, fewer than 10,000`);
  assert.equal((await t.request('GET', '/ready')).status, 200);
  // The shared tokens were never ended: every endpoint was fuzzed past authentication.
  for (const who of [admin, customer]) assert.equal((await t.request('GET', '/api/v1/me', { token: who.token })).status, 200);
  const report = await checkInvariants((q) => t.sql(q));
  assert.deepEqual(report.violations, []);
});
