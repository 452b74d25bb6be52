/**
 * The booking flow through the generated client (clients/typescript) against a real server:
 * every call is typed from the OpenAPI document, and every answer the server sends is checked
 * against the document's schema for that operation and status (ajv, JSON Schema 2020-12, as
 * OpenAPI 3.1 uses), so the document and the server cannot drift apart unnoticed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { bookASeat } from '../clients/typescript/examples/book-a-seat.ts';
import { createMarqueeClient } from '../clients/typescript/src/index.ts';
import { makeMovie, makeScreen, makeShow, makeTheatre } from './builders.ts';
import { signUpAdmin, startTestApp, type TestApp } from './helpers.ts';

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
interface Checked {
  method: string;
  path: string;
  status: number;
  problem?: string;
}

/** A fetch that sends the request and checks the answer against the OpenAPI document. */
function validatingFetch(doc: Json, checked: Checked[]) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const components = doc['components'];
  const compiled = new Map<string, ValidateFunction>();
  const paths = doc['paths'] as Record<string, Record<string, Json>>;
  const templates = Object.keys(paths).map((p) => ({ p, re: new RegExp('^' + p.replace(/\{[^}]+\}/g, '[^/]+') + '$') }));

  return async (request: Request): Promise<Response> => {
    const response = await fetch(request);
    const method = request.method.toLowerCase();
    const { pathname } = new URL(request.url);
    const template = templates.find((t) => t.re.test(pathname))?.p;
    const entry: Checked = { method, path: template ?? pathname, status: response.status };
    checked.push(entry);
    const operation = template === undefined ? undefined : paths[template]?.[method];
    const answers = (operation?.['responses'] ?? {}) as Record<string, Json>;
    const documented = answers[String(response.status)];
    if (operation === undefined) entry.problem = 'no such operation in the document';
    else if (documented === undefined) entry.problem = `status ${response.status} is not documented`;
    else {
      const content = documented['content'] as Record<string, { schema: Json }> | undefined;
      const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
      if (type === 'text/event-stream') {
        // A stream never ends: only its content type is checked.
        if (content?.[type] === undefined) entry.problem = `content type ${type} is not documented`;
        return response;
      }
      const text = await response.clone().text();
      if (content === undefined) {
        if (text !== '') entry.problem = `documented without a body, answered ${type}: ${text.slice(0, 200)}`;
      } else if (content[type] === undefined) {
        entry.problem = `content type ${type} is not documented (${Object.keys(content).join(', ')})`;
      } else {
        const key = `${method} ${template} ${response.status} ${type}`;
        let validate = compiled.get(key);
        if (validate === undefined) {
          validate = ajv.compile({ ...content[type].schema, components });
          compiled.set(key, validate);
        }
        if (!validate(JSON.parse(text))) entry.problem = `body does not match the schema: ${ajv.errorsText(validate.errors)}: ${text.slice(0, 300)}`;
      }
    }
    return response;
  };
}

describe('the TypeScript SDK (clients/typescript)', () => {
  let t: TestApp;
  let show: { id: string };
  let doc: Json;
  const checked: Checked[] = [];

  before(async () => {
    t = await startTestApp();
    const admin = await signUpAdmin(t);
    const movie = await makeMovie(t, admin);
    const theatre = await makeTheatre(t, admin, { city: 'Sdkville' });
    const screen = await makeScreen(t, admin, { theatreId: theatre.id });
    show = await makeShow(t, admin, { movieId: movie.id, screenId: screen.id });
    doc = (await t.request<Json>('GET', '/openapi.json')).body;
  });
  after(async () => {
    await t.close();
  });

  it('books a seat end to end: register, browse by city, seat map with ETag, best seats, idempotent hold, confirm, read, history, cancel', async () => {
    const fetchChecked = validatingFetch(doc, checked);
    const marquee = createMarqueeClient({ baseUrl: t.url, fetch: fetchChecked });
    const email = `sdk-${crypto.randomUUID()}@example.com`;

    const registered = await marquee.register({ email, password: 'correct horse battery', name: 'SDK User' });
    assert.equal(registered.response.status, 201);
    assert.equal(registered.data?.user.email, email);
    assert.ok(marquee.tokens !== undefined, 'the client keeps the tokens');

    const me = await marquee.api.GET('/api/v1/me');
    assert.equal(me.data?.email, email, 'the bearer token is sent');

    const shows = await marquee.api.GET('/api/v1/shows', { params: { query: { city: 'Sdkville', limit: 10 } } });
    assert.deepEqual(
      shows.data?.items.map((s) => s.id),
      [show.id],
    );

    const map = await marquee.api.GET('/api/v1/shows/{id}/seats', { params: { path: { id: show.id } } });
    assert.equal(map.response.status, 200);
    const etag = map.response.headers.get('etag');
    assert.ok(etag !== null && map.data !== undefined);
    assert.ok(map.data.seats.every((s) => s.status === 'available'));
    const unchanged = await marquee.api.GET('/api/v1/shows/{id}/seats', {
      params: { path: { id: show.id } },
      headers: { 'If-None-Match': etag },
    });
    assert.equal(unchanged.response.status, 304);

    const best = await marquee.api.POST('/api/v1/shows/{id}/best-seats', { params: { path: { id: show.id } }, body: { count: 2 } });
    const seatIds = best.data?.seats.map((s) => s.id) ?? [];
    assert.equal(seatIds.length, 2);

    const key = crypto.randomUUID();
    const hold = await marquee.hold({ showId: show.id, seatIds }, key);
    assert.equal(hold.response.status, 201);
    assert.equal(hold.data?.status, 'pending');
    const again = await marquee.hold({ showId: show.id, seatIds }, key);
    assert.equal(again.data?.id, hold.data.id, 'the same key answers the first booking');
    assert.equal(again.response.headers.get('idempotent-replayed'), 'true');

    // Someone else wants the same seats: a 409 read through its typed problem.
    const rival = createMarqueeClient({ baseUrl: t.url, fetch: fetchChecked });
    await rival.register({ email: `rival-${crypto.randomUUID()}@example.com`, password: 'correct horse battery', name: 'Rival' });
    const taken = await rival.hold({ showId: show.id, seatIds });
    assert.equal(taken.response.status, 409);
    assert.ok(taken.error !== undefined);
    assert.equal(taken.error.code, 'SEATS_UNAVAILABLE');
    assert.equal(taken.error.status, 409);
    // The 409's type is a union discriminated by `code`: narrowing on it types `unavailableSeatIds`.
    const unavailable: string[] | undefined = taken.error.code === 'SEATS_UNAVAILABLE' ? taken.error.unavailableSeatIds : undefined;
    assert.deepEqual(unavailable, [...seatIds].sort());

    const confirmed = await marquee.api.POST('/api/v1/bookings/{id}/confirm', {
      params: { path: { id: hold.data.id } },
      body: { paymentToken: 'tok_visa' },
    });
    assert.equal(confirmed.data?.status, 'confirmed');
    assert.equal(confirmed.data.payment?.status, 'succeeded');

    const read = await marquee.api.GET('/api/v1/bookings/{id}', { params: { path: { id: hold.data.id } } });
    assert.equal(read.data?.status, 'confirmed');
    assert.deepEqual(read.data.seats.map((s) => s.id).sort(), [...seatIds].sort());

    const history = await marquee.api.GET('/api/v1/bookings', { params: { query: { limit: 10 } } });
    assert.deepEqual(
      history.data?.items.map((b) => b.id),
      [hold.data.id],
    );

    const cancelled = await marquee.api.POST('/api/v1/bookings/{id}/cancel', { params: { path: { id: hold.data.id } } });
    assert.equal(cancelled.data?.status, 'cancelled');

    const after = await marquee.api.GET('/api/v1/shows/{id}/seats', { params: { path: { id: show.id } } });
    assert.ok(after.data?.seats.filter((s) => seatIds.includes(s.id)).every((s) => s.status === 'available'));

  });

  it('refreshes an expired access token once (POST /auth/refresh) and retries the request; two 401s at once share one refresh', async () => {
    const seen: string[] = [];
    const fetchChecked = validatingFetch(doc, checked);
    const marquee = createMarqueeClient({
      baseUrl: t.url,
      fetch: (request) => {
        seen.push(`${request.method} ${new URL(request.url).pathname}`);
        return fetchChecked(request);
      },
    });
    await marquee.register({ email: `refresh-${crypto.randomUUID()}@example.com`, password: 'correct horse battery', name: 'R' });
    const before = marquee.tokens;
    assert.ok(before !== undefined);
    marquee.setTokens({ accessToken: 'not-a-valid-token', refreshToken: before.refreshToken });
    seen.length = 0;

    const [me, history] = await Promise.all([marquee.api.GET('/api/v1/me'), marquee.api.GET('/api/v1/bookings')]);
    assert.equal(me.response.status, 200);
    assert.equal(history.response.status, 200);
    assert.equal(seen.filter((s) => s === 'POST /api/v1/auth/refresh').length, 1, 'one refresh for both');
    assert.notEqual(marquee.tokens?.refreshToken, before.refreshToken, 'the pair rotated');

    // A refresh that fails leaves the 401 as it was (no loop).
    marquee.setTokens({ accessToken: 'not-a-valid-token', refreshToken: 'not-a-refresh-token' });
    const denied = await marquee.api.GET('/api/v1/me');
    assert.equal(denied.response.status, 401);
    assert.equal(denied.error?.code, 'UNAUTHENTICATED');
    assert.equal(marquee.tokens, undefined, 'a refused refresh forgets the tokens');
  });

  it('streams the live seat map: a snapshot, then the seats a hold takes, as they change', async () => {
    const fetchChecked = validatingFetch(doc, checked);
    const marquee = createMarqueeClient({ baseUrl: t.url, fetch: fetchChecked });
    await marquee.register({ email: `stream-${crypto.randomUUID()}@example.com`, password: 'correct horse battery', name: 'S' });
    const stop = new AbortController();
    const events = marquee.seats(show.id, { signal: stop.signal });
    const first = await events.next();
    assert.equal(first.done, false);
    assert.ok(first.value !== undefined);
    assert.equal(first.value.type, 'snapshot');
    const free = first.value.seats.filter((s) => s.status === 'available').slice(0, 2).map((s) => s.id);
    assert.equal(free.length, 2);
    const hold = await marquee.hold({ showId: show.id, seatIds: free });
    assert.equal(hold.response.status, 201);
    const held = new Set<string>();
    for await (const event of events) {
      assert.equal(event.type, 'change');
      for (const seat of event.seats) if (seat.status === 'held') held.add(seat.id);
      if (free.every((id) => held.has(id))) break;
    }
    stop.abort();
    assert.deepEqual([...held].sort(), [...free].sort());

    // Resume after the last event seen: the changes missed meanwhile come first, no new snapshot.
    const lastEventId = first.value.id;
    assert.ok(lastEventId !== undefined, 'events carry ids');
    const resumed = marquee.seats(show.id, { lastEventId });
    const next = await resumed.next();
    await resumed.return(); // closes the connection
    assert.equal(next.value?.type, 'change');
    assert.ok(next.value.seats.some((seat) => free.includes(seat.id) && seat.status === 'held'));
  });

  it("runs the README's example (clients/typescript/examples/book-a-seat.ts): a confirmed booking of two seats", async () => {
    const booking = await bookASeat(t.url, `example-${crypto.randomUUID()}@example.com`, 'Sdkville');
    assert.equal(booking?.status, 'confirmed');
    assert.equal(booking.seats.length, 2);
  });

  it('every answer above matches the OpenAPI document for its operation and status (200, 201, 304, 401, 409 among them)', () => {
    const statuses = new Set(checked.map((c) => c.status));
    for (const s of [200, 201, 304, 401, 409]) assert.ok(statuses.has(s), `a ${s} answer was checked`);
    assert.deepEqual(
      checked.filter((c) => c.problem !== undefined),
      [],
    );
  });
});
