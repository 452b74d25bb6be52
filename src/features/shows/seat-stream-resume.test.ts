/** The seat stream's event ids and Last-Event-ID resume. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { openStream, type SseEvent } from '../../../test/sse.ts';

let t: TestApp;
let admin: SignedIn;
let users: SignedIn[];

before(async () => {
  t = await startTestApp();
  admin = await signUpAdmin(t);
  users = await makeUsers(t, 2);
});
after(async () => {
  await t.close();
});

type SeatsData = { seats: { id: string; status: string }[] };
const hasSeat = (id: string, status: string) => (e: SseEvent) =>
  e.event === 'message' && (JSON.parse(e.data) as SeatsData).seats.some((s) => s.id === id && s.status === status);

describe('seat stream: event ids and Last-Event-ID', () => {
  it('every event has an id; a reconnect with Last-Event-ID gets the missed changes, not a snapshot', async () => {
    const show = await makeShow(t, admin);
    const seats = await seatMap(t, show.id);
    const [x, y] = [seats[0]?.id ?? '', seats[1]?.id ?? ''];
    const url = `${t.url}/api/v1/shows/${show.id}/seats/stream`;
    const [a, b] = users as [SignedIn, SignedIn];

    const first = await openStream(url);
    const watcher = await openStream(url);
    let lastId: string;
    try {
      const snapshot = await first.waitFor((e) => e.event === 'snapshot');
      assert.match(snapshot.id ?? '', /^[0-9a-f]{8}\.\d+$/);
      assert.equal((await t.request('POST', '/api/v1/bookings', { token: a.token, body: { showId: show.id, seatIds: [x] } })).status, 201);
      const held = await first.waitFor(hasSeat(x, 'held'));
      assert.match(held.id ?? '', /^[0-9a-f]{8}\.\d+$/);
      assert.notEqual(held.id, snapshot.id);
      lastId = held.id ?? '';
    } finally {
      first.close();
    }
    // While the first client is away, y is held.
    try {
      await watcher.waitFor((e) => e.event === 'snapshot');
      assert.equal((await t.request('POST', '/api/v1/bookings', { token: b.token, body: { showId: show.id, seatIds: [y] } })).status, 201);
      await watcher.waitFor(hasSeat(y, 'held'));
    } finally {
      watcher.close();
    }

    const resumed = await openStream(url, { 'Last-Event-ID': lastId });
    try {
      assert.equal(resumed.status, 200);
      const missed = await resumed.waitFor(hasSeat(y, 'held'));
      assert.ok((missed.id ?? '') > '' && missed.id !== lastId);
      assert.equal(resumed.events.filter((e) => e.event === 'snapshot').length, 0, 'no snapshot: the missed change was replayed');
      assert.equal(resumed.events.filter(hasSeat(x, 'held')).length, 0, 'nothing from before Last-Event-ID');
    } finally {
      resumed.close();
    }
  });

  it('an unknown or stale Last-Event-ID gets a fresh snapshot', async () => {
    const show = await makeShow(t, admin);
    for (const id of ['garbage', '00000000.1', 'ffffffff.999999999']) {
      const stream = await openStream(`${t.url}/api/v1/shows/${show.id}/seats/stream`, { 'Last-Event-ID': id });
      try {
        const snapshot = await stream.waitFor((e) => e.event === 'snapshot');
        assert.match(snapshot.id ?? '', /^[0-9a-f]{8}\.\d+$/);
      } finally {
        stream.close();
      }
    }
  });
});
