import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, spawnServer, startTestApp, waitUntil, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { openStream, type SseEvent } from '../../../test/sse.ts';

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];
let other: { child: ChildProcess; url: string } | undefined;

before(async () => {
  t = await startTestApp({ SSE_HEARTBEAT_MS: '200' });
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 5);
});
after(async () => {
  other?.child.kill('SIGTERM');
  await t.close();
});

type SeatsData = { seats: { id: string; status: string }[] };
const hasSeat = (id: string, status: string) => (e: SseEvent) =>
  e.event === 'message' && (JSON.parse(e.data) as SeatsData).seats.some((s) => s.id === id && s.status === status);

describe('seat stream', () => {
  it('stream: a snapshot first, then an event for each hold, confirm and cancel; heartbeats keep it open', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const stream = await openStream(`${t.url}/api/v1/shows/${show.id}/seats/stream`);
    try {
      assert.equal(stream.status, 200);
      assert.match(stream.contentType, /text\/event-stream/);
      const snapshot = await stream.waitFor((e) => e.event === 'snapshot');
      assert.equal((JSON.parse(snapshot.data) as SeatsData).seats.length, seats.length);

      const u = users[0] as SignedIn;
      const seat = seats[3]?.id ?? '';
      const hold = await t.request<{ id: string }>('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seat] } });
      await stream.waitFor(hasSeat(seat, 'held'));
      await t.request('POST', `/api/v1/bookings/${hold.body.id}/confirm`, { token: u.token, body: { paymentToken: 'tok_visa' } });
      await stream.waitFor(hasSeat(seat, 'booked'));
      await t.request('POST', `/api/v1/bookings/${hold.body.id}/cancel`, { token: u.token });
      await stream.waitFor(hasSeat(seat, 'available'));
      // Idle now: heartbeats (every 200 ms here) arrive, and the stream still carries events after them.
      await stream.waitForComments(stream.comments + 2, 5000);
      const later = seats[4]?.id ?? '';
      assert.equal((await t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [later] } })).status, 201);
      await stream.waitFor(hasSeat(later, 'held'));
    } finally {
      stream.close();
    }
  });

  it('stream: a hold that fails sends nothing (events go out on commit only)', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const a = users[1] as SignedIn;
    const b = users[2] as SignedIn;
    await t.request('POST', '/api/v1/bookings', { token: a.token, body: { showId: show.id, seatIds: [seats[0]?.id] } });
    const stream = await openStream(`${t.url}/api/v1/shows/${show.id}/seats/stream`);
    try {
      await stream.waitFor((e) => e.event === 'snapshot');
      const failed = await t.request('POST', '/api/v1/bookings', { token: b.token, body: { showId: show.id, seatIds: [seats[1]?.id, seats[0]?.id] } });
      assert.equal(failed.status, 409);
      // Events of one channel arrive in commit order: once the event of a later hold is here,
      // anything the failed hold had sent would be here too.
      const marker = seats[5]?.id ?? '';
      assert.equal((await t.request('POST', '/api/v1/bookings', { token: b.token, body: { showId: show.id, seatIds: [marker] } })).status, 201);
      await stream.waitFor(hasSeat(marker, 'held'));
      const messages = stream.events.filter((e) => e.event === 'message').map((e) => (JSON.parse(e.data) as SeatsData).seats);
      assert.deepEqual(messages, [[{ id: marker, status: 'held' }]], 'only the later hold was announced');
    } finally {
      stream.close();
    }
  });

  it('stream: closed clients are cleaned up; an unknown show → 404 problem', async () => {
    const show = await makeShow(t, admin);
    const before = t.app.services.hub.subscriberCount();
    const streams = await Promise.all([1, 2, 3].map(() => openStream(`${t.url}/api/v1/shows/${show.id}/seats/stream`)));
    await Promise.all(streams.map((s) => s.waitFor((e) => e.event === 'snapshot')));
    assert.equal(t.app.services.hub.subscriberCount(), before + 3);
    for (const s of streams) s.close();
    await waitUntil(() => t.app.services.hub.subscriberCount() === before, 'the closed streams to unsubscribe');
    const missing = await t.request<{ code: string }>('GET', '/api/v1/shows/00000000-0000-4000-8000-000000000000/seats/stream');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  it('stream across processes: a subscriber on another server process sees a booking made through this one', async () => {
    other = await spawnServer(t.databaseUrl, { SSE_HEARTBEAT_MS: '1000' });
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const stream = await openStream(`${other.url}/api/v1/shows/${show.id}/seats/stream`);
    try {
      await stream.waitFor((e) => e.event === 'snapshot');
      const u = users[3] as SignedIn;
      const seat = seats[7]?.id ?? '';
      const res = await t.request('POST', '/api/v1/bookings', { token: u.token, body: { showId: show.id, seatIds: [seat] } });
      assert.equal(res.status, 201);
      await stream.waitFor(hasSeat(seat, 'held'));
    } finally {
      stream.close();
    }
  });
});
