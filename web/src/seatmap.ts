/**
 * The seat map: a grid of real <button>s, one per seat, rows in the screen's order with the
 * screen at the top, grouped by category, with a gap where the layout has an aisle (a seat's
 * aisleAfter) or the numbering skips. Each button's label says everything a sighted
 * visitor sees ("Row C, seat 7, premium, $12.00, available"); aria-pressed says picked.
 * Keyboard: one Tab stop for the whole map (roving tabindex), arrow keys move between seats,
 * Home/End to the ends of a row, Enter/Space picks (a button does that by itself).
 */
import type { Schemas } from './api.ts';
import { h } from './dom.ts';
import { capitalise, money } from './format.ts';

export type Seat = Schemas['Seat'];
export type SeatStatus = Seat['status'];
/** What a seat looks like to this visitor: the server's status, plus their own picks and holds. */
export type Look = 'available' | 'picked' | 'yours' | 'held' | 'sold';

/** Words and marks for each look: the map never relies on colour alone. */
export const LOOKS: Record<Look, { label: string; mark: string | undefined; legend: string }> = {
  available: { label: 'available', mark: undefined, legend: 'Available' },
  picked: { label: 'available', mark: '✓', legend: 'Picked by you' },
  yours: { label: 'yours', mark: '★', legend: 'Yours' },
  held: { label: 'held by someone else', mark: '–', legend: 'Held by someone' },
  sold: { label: 'sold', mark: '✕', legend: 'Sold' },
};

export interface SeatMapOptions {
  seats: Seat[];
  currency: string;
  /** A seat button was pressed (click, Enter or Space). */
  onPress: (seat: Seat) => void;
}

export class SeatMap {
  readonly element: HTMLElement;
  /** Seats the visitor picked (not yet held). */
  readonly picked = new Set<string>();
  /** Seats of the visitor's own hold or booking. */
  readonly mine = new Set<string>();
  private readonly seats = new Map<string, Seat>();
  private readonly buttons = new Map<string, HTMLButtonElement>();
  private readonly rows: string[][] = [];
  private readonly categoryIndex = new Map<string, number>();
  private readonly currency: string;
  private roving: string | undefined;

  constructor(options: SeatMapOptions) {
    this.currency = options.currency;
    // Categories numbered by price, cheapest first: the same colour for the same category everywhere.
    const prices = new Map<string, number>();
    for (const s of options.seats) prices.set(s.category, Math.max(prices.get(s.category) ?? 0, s.price));
    [...prices].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).forEach(([c], i) => this.categoryIndex.set(c, i % 4));

    const inner = h(
      'div',
      { class: 'seatmap-inner' },
      h('div', { class: 'screen', 'aria-hidden': 'true' }, h('span', {}, 'Screen')),
    );
    let row: HTMLElement | undefined;
    let rowLabel: string | undefined;
    let lastNumber = 0;
    let aisleNext = false;
    let category: string | undefined;
    for (const seat of options.seats) {
      this.seats.set(seat.id, { ...seat });
      if (seat.row !== rowLabel || row === undefined) {
        if (row !== undefined && rowLabel !== undefined) row.append(h('span', { class: 'row-label', 'aria-hidden': 'true' }, rowLabel));
        if (seat.category !== category) {
          category = seat.category;
          inner.append(h('p', { class: `category-heading ${this.categoryClass(category)}` }, `${capitalise(category)} · ${money(seat.price, this.currency)}`));
        }
        rowLabel = seat.row;
        row = h('div', { class: 'seat-row', role: 'group', 'aria-label': `Row ${seat.row}` }, h('span', { class: 'row-label', 'aria-hidden': 'true' }, seat.row));
        inner.append(row);
        this.rows.push([]);
        lastNumber = 0;
        aisleNext = false;
      }
      // An aisle of the layout, or a gap in the numbering, is an empty space (a row never ends in one).
      if (aisleNext) row.append(h('span', { class: 'aisle', 'aria-hidden': 'true' }));
      for (let gap = lastNumber + 1; lastNumber > 0 && gap < seat.number; gap++) row.append(h('span', { class: 'aisle', 'aria-hidden': 'true' }));
      lastNumber = seat.number;
      aisleNext = seat.aisleAfter;
      const button = h('button', { type: 'button', class: 'seat', 'data-seat-id': seat.id, tabindex: -1 });
      this.buttons.set(seat.id, button);
      this.rows.at(-1)?.push(seat.id);
      row.append(button);
    }
    if (row !== undefined && rowLabel !== undefined) row.append(h('span', { class: 'row-label', 'aria-hidden': 'true' }, rowLabel));

    // The widest row (aisles included) sizes the seats to fit the box; narrower than that, the map scrolls.
    const widest = Math.max(1, ...this.rows.map((r) => {
      const numbers = r.map((id) => this.seats.get(id)?.number ?? 0);
      const aisles = r.slice(0, -1).filter((id) => this.seats.get(id)?.aisleAfter === true).length;
      return Math.max(...numbers) - Math.min(...numbers) + 1 + aisles;
    }));
    this.element = h(
      'div',
      { class: 'seatmap', style: `--cols: ${widest}` },
      h('p', { class: 'visually-hidden' }, 'Seat map. The screen is at the top. Use the arrow keys to move between seats, Enter or Space to pick one.'),
      h('div', { class: 'seatmap-scroll' }, inner),
    );
    inner.addEventListener('click', (e) => {
      const id = this.seatIdOf(e.target);
      const seat = id === undefined ? undefined : this.seats.get(id);
      if (seat !== undefined) options.onPress(seat);
    });
    inner.addEventListener('focusin', (e) => {
      const id = this.seatIdOf(e.target);
      if (id !== undefined) this.setRoving(id);
    });
    inner.addEventListener('keydown', (e) => this.onKey(e));
    for (const id of this.seats.keys()) this.draw(id);
    const first = [...this.seats.values()].find((s) => s.status === 'available') ?? options.seats[0];
    if (first !== undefined) this.setRoving(first.id);
  }

  /** The colour class of a category (cat-0 … cat-3, cheapest first). */
  categoryClass(category: string): string {
    return `cat-${this.categoryIndex.get(category) ?? 0}`;
  }

  seat(id: string): Seat | undefined {
    return this.seats.get(id);
  }

  allSeats(): Seat[] {
    return [...this.seats.values()];
  }

  look(id: string): Look {
    const seat = this.seats.get(id);
    if (this.mine.has(id)) return 'yours';
    if (seat === undefined) return 'sold';
    if (seat.status === 'booked') return 'sold';
    if (seat.status === 'held') return 'held';
    return this.picked.has(id) ? 'picked' : 'available';
  }

  label(id: string): string {
    const seat = this.seats.get(id);
    if (seat === undefined) return '';
    return `Row ${seat.row}, seat ${seat.number}, ${seat.category}, ${money(seat.price, this.currency)}, ${LOOKS[this.look(id)].label}`;
  }

  /** Applies the server's statuses (a snapshot or a change event); returns the seats whose status changed. */
  setStatuses(changes: readonly { id: string; status: SeatStatus }[]): string[] {
    const changed: string[] = [];
    for (const c of changes) {
      const seat = this.seats.get(c.id);
      if (seat === undefined || seat.status === c.status) continue;
      seat.status = c.status;
      changed.push(c.id);
      this.draw(c.id);
    }
    return changed;
  }

  /** Redraws seats (after picked/mine changed): all of them when no ids are given. */
  redraw(ids: Iterable<string> = this.seats.keys()): void {
    for (const id of ids) this.draw(id);
  }

  /** Scrolls a map wider than its box to the middle (call once it is in the document): the screen's centre in view. */
  centre(): void {
    const box = this.element.querySelector('.seatmap-scroll');
    if (box !== null) box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
  }

  focus(id: string): void {
    this.setRoving(id);
    this.buttons.get(id)?.focus();
  }

  private draw(id: string): void {
    const button = this.buttons.get(id);
    const seat = this.seats.get(id);
    if (button === undefined || seat === undefined) return;
    const look = this.look(id);
    button.className = `seat seat-${look} ${this.categoryClass(seat.category)}`;
    button.dataset['status'] = look;
    button.setAttribute('aria-label', this.label(id));
    button.setAttribute('aria-pressed', String(look === 'picked' || look === 'yours'));
    // Still focusable (arrow keys walk over it, a screen reader reads it), but not pressable.
    if (look === 'held' || look === 'sold') button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
    button.textContent = LOOKS[look].mark ?? String(seat.number);
  }

  private seatIdOf(target: EventTarget | null): string | undefined {
    if (!(target instanceof Element)) return undefined;
    const button = target.closest<HTMLButtonElement>('button.seat');
    return button?.dataset['seatId'];
  }

  private setRoving(id: string): void {
    if (this.roving === id) return;
    if (this.roving !== undefined) this.buttons.get(this.roving)?.setAttribute('tabindex', '-1');
    this.roving = id;
    this.buttons.get(id)?.setAttribute('tabindex', '0');
  }

  private onKey(e: KeyboardEvent): void {
    const id = this.seatIdOf(e.target);
    if (id === undefined) return;
    const r = this.rows.findIndex((row) => row.includes(id));
    const row = this.rows[r];
    if (row === undefined) return;
    const i = row.indexOf(id);
    let next: string | undefined;
    switch (e.key) {
      case 'ArrowLeft':
        next = row[Math.max(0, i - 1)];
        break;
      case 'ArrowRight':
        next = row[Math.min(row.length - 1, i + 1)];
        break;
      case 'Home':
        next = row[0];
        break;
      case 'End':
        next = row.at(-1);
        break;
      case 'ArrowUp':
      case 'ArrowDown':
        next = this.nearestIn(this.rows[r + (e.key === 'ArrowUp' ? -1 : 1)], id);
        break;
      default:
        return;
    }
    e.preventDefault();
    if (next !== undefined) this.focus(next);
  }

  /** The seat of another row drawn nearest (left to right) to this one: rows are centred and differ in length. */
  private nearestIn(row: string[] | undefined, from: string): string | undefined {
    if (row === undefined) return undefined;
    const centre = (id: string) => {
      const box = this.buttons.get(id)?.getBoundingClientRect();
      return box === undefined ? 0 : box.left + box.width / 2;
    };
    const x = centre(from);
    let best: string | undefined;
    let distance = Infinity;
    for (const id of row) {
      const d = Math.abs(centre(id) - x);
      if (d < distance) {
        distance = d;
        best = id;
      }
    }
    return best;
  }
}

/** The key to the map: what each look means (with its mark), and each category's price. */
export function legend(map: SeatMap, currency: string): HTMLElement {
  const categories = new Map<string, number>();
  for (const s of map.allSeats()) if (!categories.has(s.category)) categories.set(s.category, s.price);
  const sample = (look: Look, extra = '') => h('span', { class: `seat seat-${look} sample ${extra}`, 'aria-hidden': 'true' }, LOOKS[look].mark ?? '');
  return h(
    'div',
    { class: 'legend' },
    h('h2', { class: 'visually-hidden' }, 'Key'),
    h(
      'ul',
      { class: 'legend-list', 'aria-label': 'Seat status' },
      ...(['available', 'picked', 'yours', 'held', 'sold'] as const).map((look) => h('li', {}, sample(look, 'cat-0'), LOOKS[look].legend)),
    ),
    h(
      'ul',
      { class: 'legend-list', 'aria-label': 'Prices' },
      ...[...categories]
        .sort((a, b) => a[1] - b[1])
        .map(([c, price]) => h('li', {}, h('span', { class: `seat seat-available sample ${map.categoryClass(c)}`, 'aria-hidden': 'true' }), `${capitalise(c)} ${money(price, currency)}`)),
    ),
  );
}
