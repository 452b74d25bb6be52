import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeShow, seatMap } from '../../../test/builders.ts';
import { makeUsers, signUpAdmin, startTestApp, type SignedIn, type TestApp } from '../../../test/helpers.ts';
import { bestBlock, type MapSeat } from './best-seats.ts';

/** A row from a picture: '.' free, 'x' taken, '|' an aisle (after the seat before it). */
function row(label: string, picture: string, category = 'standard'): MapSeat[] {
  const seats: MapSeat[] = [];
  for (const c of picture) {
    if (c === '|') {
      const last = seats.at(-1);
      if (last !== undefined) last.aisleAfter = true;
      continue;
    }
    seats.push({ id: `${label}${seats.length + 1}`, row: label, number: seats.length + 1, category, price: 100, status: c === '.' ? 'available' : 'booked', aisleAfter: false });
  }
  return seats;
}
const ids = (b: MapSeat[] | undefined) => b?.map((s) => s.id);

describe('bestBlock', () => {
  it('an empty row → the centre block', () => {
    assert.deepEqual(ids(bestBlock(row('A', '..........'), 2)), ['A5', 'A6']);
    assert.deepEqual(ids(bestBlock(row('A', '.........'), 3)), ['A4', 'A5', 'A6']);
  });

  it('never spans an aisle, and a seat across an aisle is not stranded by a block', () => {
    // The centre pair 5–6 is split by the aisle: the pair beside it wins, in one section.
    assert.deepEqual(ids(bestBlock(row('A', '.....|.....'), 2)), ['A4', 'A5']);
    assert.deepEqual(ids(bestBlock(row('A', '..|..|..'), 3)), undefined, 'no section holds three');
    // 4 free seats between an aisle and a taken seat: taking 3 leaves no stranded seat when the
    // block starts at the aisle; the lone seat 1 across the aisle is not beside the block.
    assert.deepEqual(ids(bestBlock(row('A', 'x.|...x'), 3)), ['A3', 'A4', 'A5']);
  });

  it('the middle row beats front and back rows', () => {
    const seats = [...row('A', '........'), ...row('B', '........'), ...row('C', '........')];
    assert.deepEqual(ids(bestBlock(seats, 2)), ['B4', 'B5']);
  });

  it('never a single seat stranded when another choice exists', () => {
    // Centre block A4-A5 would strand A3 (A2 taken): A3-A4 or a block leaving no single gap wins.
    const seats = row('A', 'xx......xx');
    const block = bestBlock(seats, 2) ?? [];
    const taken = new Set(['A1', 'A2', 'A9', 'A10', ...block.map((s) => s.id)]);
    const free = seats.filter((s) => !taken.has(s.id)).map((s) => s.number);
    const singles = free.filter((n) => !free.includes(n - 1) && !free.includes(n + 1));
    assert.deepEqual(singles, [], `block ${String(ids(block))} strands ${String(singles)}`);
  });

  it('a stranding block is still offered when it is the only one', () => {
    assert.deepEqual(ids(bestBlock(row('A', 'x...x'), 2))?.length, 2);
  });

  it('category filter, and no block → undefined', () => {
    const seats = [...row('A', '....', 'premium'), ...row('B', '....', 'standard')];
    assert.deepEqual(bestBlock(seats, 2, 'premium')?.every((s) => s.category === 'premium'), true);
    assert.equal(bestBlock(row('A', '.x.x.'), 2), undefined);
  });
});

let t: TestApp;
let admin: SignedIn;
before(async () => {
  t = await startTestApp();
  admin = await signUpAdmin(t);
});
after(async () => {
  await t.close();
});

describe('POST /shows/:id/best-seats', () => {
  it('suggests free adjacent seats without holding them; no block → 409 SEATS_UNAVAILABLE', async () => {
    const show = await makeShow(t, admin, { rows: [{ label: 'A', seats: 6, category: 'standard' }] });
    const res = await t.request<{ seats: { id: string; row: string; number: number }[] }>('POST', `/api/v1/shows/${show.id}/best-seats`, { body: { count: 2 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.seats.map((s) => s.number), [3, 4]);
    assert.ok((await seatMap(t, show.id)).every((s) => s.status === 'available'), 'nothing held');
    const [u] = await makeUsers(t, 1);
    const map = await seatMap(t, show.id);
    const hold = await t.request('POST', '/api/v1/bookings', { token: u?.token, body: { showId: show.id, seatIds: [map[1]?.id, map[4]?.id] } });
    assert.equal(hold.status, 201);
    const none = await t.request<{ code: string }>('POST', `/api/v1/shows/${show.id}/best-seats`, { body: { count: 3 } });
    assert.equal(none.status, 409);
    assert.equal(none.body.code, 'SEATS_UNAVAILABLE');
    assert.equal((await t.request('POST', `/api/v1/shows/${show.id}/best-seats`, { body: { count: 11 } })).status, 422);
    assert.equal((await t.request('POST', '/api/v1/shows/00000000-0000-4000-8000-000000000000/best-seats', { body: { count: 2 } })).status, 404);
  });
});
