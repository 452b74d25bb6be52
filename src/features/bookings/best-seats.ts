/**
 * Best available: the block of `count` adjacent free seats in one row closest to the centre
 * of the auditorium, preferring blocks that leave no single free seat stranded between
 * taken seats (or a wall, or an aisle). A block never spans an aisle: people who came
 * together sit together. Pure: it works on a seat map and holds nothing.
 */
import type { SeatMap } from '../shows/schemas.ts';

export type MapSeat = SeatMap['seats'][number];

export function bestBlock(seats: MapSeat[], count: number, category?: string): MapSeat[] | undefined {
  const rows: MapSeat[][] = [];
  const byLabel = new Map<string, MapSeat[]>();
  for (const s of seats) {
    let r = byLabel.get(s.row);
    if (r === undefined) {
      r = [];
      byLabel.set(s.row, r);
      rows.push(r);
    }
    r.push(s);
  }
  const middleRow = (rows.length - 1) / 2;
  let best: { block: MapSeat[]; strands: boolean; score: number } | undefined;

  rows.forEach((rowSeats, rowIdx) => {
    const sorted = [...rowSeats].sort((a, b) => a.number - b.number);
    const byNumber = new Map(sorted.map((s) => [s.number, s]));
    const first = sorted[0]?.number ?? 0;
    const last = sorted.at(-1)?.number ?? 0;
    const rowCentre = (first + last) / 2;
    const width = Math.max(1, last - first + 1);
    const free = (n: number) => byNumber.get(n)?.status === 'available';
    /** Seats n and n + 1 sit side by side: no aisle between them. */
    const joined = (n: number) => byNumber.get(n)?.aisleAfter !== true;
    for (let start = first; start + count - 1 <= last; start++) {
      const block: MapSeat[] = [];
      for (let n = start; n < start + count; n++) {
        const s = byNumber.get(n);
        if (s === undefined || s.status !== 'available' || (category !== undefined && s.category !== category)) break;
        block.push(s);
        if (block.length < count && !joined(n)) break; // the next seat is across an aisle
      }
      if (block.length !== count) continue;
      const end = start + count - 1;
      // A single free seat just outside the block, with no free seat beside it on its other
      // side (a taken seat, a wall or an aisle), is stranded. A seat across an aisle is not
      // beside the block.
      const strands =
        (free(start - 1) && joined(start - 1) && !(free(start - 2) && joined(start - 2))) ||
        (free(end + 1) && joined(end) && !(free(end + 2) && joined(end + 1)));
      const horizontal = Math.abs((start + end) / 2 - rowCentre) / width;
      const vertical = rows.length > 1 ? Math.abs(rowIdx - middleRow) / rows.length : 0;
      const score = horizontal + vertical;
      if (best === undefined || (best.strands && !strands) || (best.strands === strands && score < best.score - 1e-9)) {
        best = { block, strands, score };
      }
    }
  });
  return best?.block;
}
