/**
 * A show's page (`#/shows/<id>`): the live seat map, picking (or "best seats for N"), the
 * hold with its countdown, payment with the simulated provider, and the confirmation.
 *
 * Live: the seat stream (client.seats) keeps every status current, so a seat someone else
 * holds turns unavailable without a reload; a picked seat taken that way is unpicked and the
 * visitor told. The stream reconnects with Last-Event-ID after a drop, and stops (the
 * AbortSignal) when the visitor leaves the page.
 */
import { client, signedIn, type Schemas } from './api.ts';
import { announce, h, notice, replace, type Child } from './dom.ts';
import { countdown, formatDateTime, formatTime, money, seatList, seatName } from './format.ts';
import { busy, handle, pageHeading, sleep, type PageContext } from './page.ts';
import { ok, problemOf } from './problem.ts';
import { go, href, signInFirst } from './router.ts';
import { legend, SeatMap, type Seat } from './seatmap.ts';
import { ticketList } from './tickets.ts';

type Booking = Schemas['Booking'];

/** The API's limit of seats per hold. */
const MAX_SEATS = 10;

/** The test cards printed on the page, and the token each stands for at the simulated provider. */
export const DECLINED_CARD = '4000 0000 0000 0002';
export const GOOD_CARD = '4242 4242 4242 4242';

/** A card number (spaces and dashes allowed) → a simulated provider token, or undefined when not a card number. */
export function cardToken(input: string): string | undefined {
  const digits = input.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(digits)) return undefined;
  // Luhn: catches a mistyped digit, as a real checkout form would.
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  if (sum % 10 !== 0) return undefined;
  return digits === DECLINED_CARD.replace(/ /g, '') ? 'tok_declined' : 'tok_visa';
}

/** Picked seats survive the trip to the sign-in page (and a reload) in sessionStorage. */
const pickedKey = (showId: string) => `marquee.picked.${showId}`;
function loadPicked(showId: string): string[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(pickedKey(showId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((x: unknown): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

type Phase = { kind: 'picking' } | { kind: 'held'; booking: Booking } | { kind: 'confirmed'; booking: Booking };

export async function showPage(ctx: PageContext): Promise<void> {
  const showId = ctx.route.path[1] ?? '';
  const [show, seatMapData] = await Promise.all([
    client.api.GET('/api/v1/shows/{id}', { params: { path: { id: showId } }, signal: ctx.signal }).then(ok),
    client.api.GET('/api/v1/shows/{id}/seats', { params: { path: { id: showId } }, signal: ctx.signal }).then(ok),
  ]);
  const currency = show.currency;
  const bookable = show.status === 'scheduled' && new Date(show.startsAt).getTime() > Date.now();

  const map = new SeatMap({ seats: seatMapData.seats, currency, onPress: (seat) => press(seat) });
  const live = h('p', { class: 'live', 'data-live': 'false' }, 'Connecting…');
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const panel = h('div', { class: 'panel-body' });
  /**
   * On a narrow screen the panel is below the map, out of sight while picking: a bar fixed to
   * the bottom shows the picks and their total and takes the visitor to the panel's Hold button
   * (one hold action, in one place; the bar only leads there). Hidden by CSS on wide screens.
   */
  const pickBar = h('div', { class: 'pick-bar', id: 'pick-bar', hidden: true });
  let phase: Phase = { kind: 'picking' };
  /** While a hold request is out, "my" seats turning held in the stream is the hold itself, not a loss. */
  let holding = false;
  /** One Idempotency-Key per selection: retrying the same hold after a lost answer books nothing twice. */
  let holdKey: { seats: string; key: string } | undefined;
  let stopCountdown: (() => void) | undefined;
  ctx.signal.addEventListener('abort', () => stopCountdown?.());

  const say = (kind: 'error' | 'info' | 'success', ...children: Child[]) => replace(messages, notice(kind, ...children));
  const clearMessages = () => replace(messages);
  const savePicked = () => sessionStorage.setItem(pickedKey(showId), JSON.stringify([...map.picked]));
  const pickedSeats = (): Seat[] => map.allSeats().filter((s) => map.picked.has(s.id));

  for (const id of loadPicked(showId)) if (map.look(id) === 'available') map.picked.add(id);
  map.redraw(map.picked);

  /** Unpicks picked seats that someone else took meanwhile, and says which. */
  const reconcile = () => {
    if (holding) return;
    const lost = pickedSeats().filter((s) => s.status !== 'available');
    if (lost.length === 0) return;
    for (const s of lost) map.picked.delete(s.id);
    map.redraw(lost.map((s) => s.id));
    savePicked();
    const text = `${seatList(lost)} ${lost.length === 1 ? 'was' : 'were'} just taken by someone else and ${lost.length === 1 ? 'is' : 'are'} no longer picked.`;
    say('info', text);
    announce(text);
    if (phase.kind === 'picking') renderPanel();
  };

  function press(seat: Seat): void {
    if (phase.kind !== 'picking') {
      announce(phase.kind === 'held' ? 'Your seats are held. Release them to pick other seats.' : 'Your booking is confirmed.');
      return;
    }
    const look = map.look(seat.id);
    if (look === 'held' || look === 'sold') {
      announce(`${seatName(seat)} is ${look === 'sold' ? 'sold' : 'held by someone else'}.`);
      return;
    }
    if (map.picked.has(seat.id)) map.picked.delete(seat.id);
    else if (map.picked.size >= MAX_SEATS) {
      say('info', `At most ${MAX_SEATS} seats per booking.`);
      return;
    } else map.picked.add(seat.id);
    map.redraw([seat.id]);
    savePicked();
    renderPanel();
  }

  /** The page's picks, holds and payment: one of three panels. */
  function renderPanel(): void {
    stopCountdown?.();
    stopCountdown = undefined;
    if (phase.kind === 'picking') replace(panel, ...pickingPanel());
    else if (phase.kind === 'held') replace(panel, ...heldPanel(phase.booking));
    else replace(panel, ...confirmedPanel(phase.booking));
    renderPickBar();
  }

  function renderPickBar(): void {
    const seats = phase.kind === 'picking' && bookable ? pickedSeats() : [];
    pickBar.hidden = seats.length === 0;
    if (seats.length === 0) return;
    const total = seats.reduce((sum, s) => sum + s.price, 0);
    const go = h('button', { type: 'button', class: 'primary' }, 'Review and hold');
    go.addEventListener('click', () => {
      const hold = panel.querySelector<HTMLButtonElement>('#hold');
      hold?.scrollIntoView({ block: 'center' });
      hold?.focus({ preventScroll: true });
    });
    replace(pickBar, h('p', {}, h('strong', {}, `${seats.length} seat${seats.length === 1 ? '' : 's'}`), ` · ${money(total, currency)}`), go);
  }

  function pickingPanel(): Child[] {
    if (!bookable) return [notice('info', show.status === 'cancelled' ? 'This show was cancelled.' : 'This show has started: booking is closed.')];
    const seats = pickedSeats().sort((a, b) => a.row.localeCompare(b.row) || a.number - b.number);
    const total = seats.reduce((sum, s) => sum + s.price, 0);
    const holdButton = h('button', { type: 'button', class: 'primary', id: 'hold', disabled: seats.length === 0 }, seats.length === 0 ? 'Hold seats' : `Hold ${seats.length} seat${seats.length === 1 ? '' : 's'}`);
    holdButton.addEventListener('click', () => handle(messages, () => busy(holdButton, 'Holding…', hold)));
    const list =
      seats.length === 0
        ? h('p', { class: 'muted' }, 'Pick seats on the map, or let us find the best ones for you.')
        : h(
            'ul',
            { class: 'picked-list', 'aria-label': 'Picked seats' },
            ...seats.map((s) => {
              const remove = h('button', { type: 'button', class: 'icon', 'aria-label': `Remove ${seatName(s)}` }, '×');
              remove.addEventListener('click', () => press(s));
              return h('li', {}, h('span', {}, `${seatName(s)} · ${s.category}`), h('span', { class: 'price' }, money(s.price, currency)), remove);
            }),
          );
    return [
      h('h2', {}, 'Your seats'),
      list,
      h('p', { class: 'total' }, 'Total ', h('strong', { id: 'total' }, money(total, currency))),
      holdButton,
      signedIn() ? null : h('p', { class: 'hint' }, 'You will be asked to sign in first; your seats stay picked.'),
      bestSeatsForm(),
    ];
  }

  function bestSeatsForm(): HTMLElement {
    const count = h('select', { id: 'best-count', name: 'count' }, ...Array.from({ length: MAX_SEATS }, (_, i) => h('option', { value: i + 1, selected: i + 1 === Math.max(2, map.picked.size) }, String(i + 1))));
    const categories = Object.keys(show.prices).sort((a, b) => (show.prices[a] ?? 0) - (show.prices[b] ?? 0));
    const category = h('select', { id: 'best-category', name: 'category' }, h('option', { value: '' }, 'Any seats'), ...categories.map((c) => h('option', { value: c }, `${c} (${money(show.prices[c] ?? 0, currency)})`)));
    const find = h('button', { type: 'submit', class: 'secondary' }, 'Find best seats');
    const form = h(
      'form',
      { class: 'best-seats', 'aria-labelledby': 'best-title' },
      h('h3', { id: 'best-title' }, 'Best seats for a group'),
      h('div', { class: 'inline-fields' }, h('label', { for: 'best-count' }, 'People'), count, h('label', { for: 'best-category', class: 'visually-hidden' }, 'Category'), category),
      find,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      handle(messages, () =>
        busy(find, 'Finding…', async () => {
          const result = await client.api.POST('/api/v1/shows/{id}/best-seats', {
            params: { path: { id: showId } },
            body: { count: Number(count.value), ...(category.value === '' ? {} : { category: category.value }) },
          });
          const found = ok(result).seats;
          const before = [...map.picked];
          map.picked.clear();
          for (const s of found) map.picked.add(s.id);
          map.redraw([...before, ...found.map((s) => s.id)]);
          savePicked();
          const text = `Best seats: ${seatList(found)}. They are picked; hold them to keep them.`;
          say('success', text);
          announce(text);
          renderPanel();
          const first = found[0];
          if (first !== undefined) map.element.querySelector(`[data-seat-id="${first.id}"]`)?.scrollIntoView({ block: 'nearest', inline: 'center' });
        }),
      );
    });
    return form;
  }

  async function hold(): Promise<void> {
    const seats = pickedSeats();
    if (seats.length === 0) return;
    if (!signedIn()) {
      savePicked();
      go(signInFirst(ctx.route));
      return;
    }
    const ids = seats.map((s) => s.id);
    const selection = [...ids].sort().join(',');
    if (holdKey?.seats !== selection) holdKey = { seats: selection, key: crypto.randomUUID() };
    holding = true;
    let result;
    try {
      result = await client.hold({ showId, seatIds: ids }, holdKey.key);
    } finally {
      holding = false;
    }
    if (result.data !== undefined) {
      clearMessages();
      map.picked.clear();
      sessionStorage.removeItem(pickedKey(showId));
      enterHeld(result.data);
      announce(`${seatList(result.data.seats)} held for you. Pay before the countdown ends.`);
      return;
    }
    const problem = problemOf(result.error, result.response);
    if (problem.status === 401) {
      // The sign-in ended (the refresh token expired): sign in again, the seats stay picked.
      savePicked();
      go(signInFirst(ctx.route));
      return;
    }
    if (problem.code === 'SEATS_UNAVAILABLE' && problem.unavailableSeatIds.length > 0) {
      const taken = problem.unavailableSeatIds.map((id) => map.seat(id)).filter((s): s is Seat => s !== undefined);
      for (const s of taken) map.picked.delete(s.id);
      // The stream will say so too; show it now rather than leave them looking free.
      map.setStatuses(taken.filter((s) => s.status === 'available').map((s) => ({ id: s.id, status: 'held' as const })));
      map.redraw(taken.map((s) => s.id));
      savePicked();
      const kept = pickedSeats();
      const text =
        `Sorry, ${seatList(taken).replace(/^R/, 'r')} ${taken.length === 1 ? 'was' : 'were'} just taken by someone else. ` +
        (kept.length > 0 ? `Your other seat${kept.length === 1 ? ' is' : 's are'} still picked (${seatList(kept).replace(/^R/, 'r')}): hold ${kept.length === 1 ? 'it' : 'them'}, or pick more.` : 'Pick other seats.');
      say('error', h('strong', {}, 'Seats taken. '), text);
      renderPanel();
      reconcile();
      return;
    }
    say('error', problem.detail);
    reconcile();
  }

  function enterHeld(booking: Booking): void {
    for (const s of booking.seats) map.mine.add(s.id);
    map.redraw(booking.seats.map((s) => s.id));
    phase = { kind: 'held', booking };
    renderPanel();
  }

  function leaveHeld(booking: Booking, message: string | undefined): void {
    for (const s of booking.seats) map.mine.delete(s.id);
    map.redraw(booking.seats.map((s) => s.id));
    phase = { kind: 'picking' };
    renderPanel();
    if (message !== undefined) {
      say('info', message);
      announce(message);
    }
  }

  /** Re-reads the whole map (after the hold lapsed: the stream only tells of changes it sees). */
  async function refreshMap(): Promise<void> {
    const fresh = ok(await client.api.GET('/api/v1/shows/{id}/seats', { params: { path: { id: showId } }, signal: ctx.signal }));
    map.setStatuses(fresh.seats);
    reconcile();
  }

  function heldPanel(booking: Booking): Child[] {
    const clock = h('strong', { class: 'clock' }, '');
    const timer = h('p', { class: 'countdown', role: 'timer', 'aria-live': 'off', id: 'countdown' }, 'Held for you for ', clock, ' more');
    const expires = new Date(booking.expiresAt).getTime();
    let warned = false;
    const tick = () => {
      const left = (expires - Date.now()) / 1000;
      clock.textContent = countdown(left);
      timer.classList.toggle('urgent', left <= 60);
      if (left <= 60 && !warned) {
        warned = true;
        announce('One minute left to pay before your seats are released.');
      }
      if (left <= 0) {
        leaveHeld(booking, 'Your hold expired and the seats were released. Pick seats again to book.');
        handle(messages, refreshMap);
      }
    };
    // The first tick only draws the clock: the panel is being built, its state must not change now.
    clock.textContent = countdown((expires - Date.now()) / 1000);
    const interval = window.setInterval(tick, 1000);
    stopCountdown = () => window.clearInterval(interval);

    const card = h('input', {
      id: 'card',
      name: 'card',
      inputmode: 'numeric',
      autocomplete: 'cc-number',
      placeholder: GOOD_CARD,
      'aria-describedby': 'card-help card-error',
      required: true,
    });
    const cardError = h('p', { class: 'field-error', id: 'card-error' });
    const pay = h('button', { type: 'submit', class: 'primary', id: 'pay' }, `Pay ${money(booking.total, booking.currency)}`);
    const payStatus = h('div', { class: 'pay-status', 'aria-live': 'polite' });
    const form = h(
      'form',
      { class: 'pay', novalidate: true, 'aria-labelledby': 'pay-title' },
      h('h3', { id: 'pay-title' }, 'Payment'),
      payStatus,
      h('div', { class: 'field' }, h('label', { for: 'card' }, 'Card number'), card, cardError),
      h(
        'div',
        { class: 'test-cards', id: 'card-help' },
        h('p', {}, 'This is a demo: no money moves. Test cards:'),
        h('ul', {}, h('li', {}, h('code', {}, GOOD_CARD), ' pays'), h('li', {}, h('code', {}, DECLINED_CARD), ' is declined')),
      ),
      pay,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const token = cardToken(card.value);
      if (token === undefined) {
        cardError.textContent = 'Enter a card number (12 to 19 digits), e.g. one of the test cards below.';
        card.setAttribute('aria-invalid', 'true');
        card.focus();
        return;
      }
      cardError.textContent = '';
      card.removeAttribute('aria-invalid');
      handle(payStatus, () =>
        busy(pay, 'Paying…', async () => {
          const result = await client.api.POST('/api/v1/bookings/{id}/confirm', { params: { path: { id: booking.id } }, body: { paymentToken: token } });
          if (result.data !== undefined) {
            clearMessages();
            phase = { kind: 'confirmed', booking: result.data };
            renderPanel();
            announce('Payment accepted. Your booking is confirmed.');
            return;
          }
          const problem = problemOf(result.error, result.response);
          if (problem.code === 'BOOKING_EXPIRED' || problem.code === 'BOOKING_CANCELLED') {
            leaveHeld(booking, problem.detail);
            await refreshMap();
            return;
          }
          const declined = problem.code === 'PAYMENT_DECLINED';
          replace(payStatus, notice('error', h('strong', {}, declined ? 'Card declined. ' : 'Payment failed. '), problem.detail, declined ? ' Try another card.' : ''));
          card.select();
        }),
      );
    });

    const release = h('button', { type: 'button', class: 'link' }, 'Release these seats');
    release.addEventListener('click', () =>
      handle(payStatus, () =>
        busy(release, 'Releasing…', async () => {
          ok(await client.api.POST('/api/v1/bookings/{id}/cancel', { params: { path: { id: booking.id } } }));
          map.setStatuses(booking.seats.map((s) => ({ id: s.id, status: 'available' as const })));
          leaveHeld(booking, 'Your seats were released.');
        }),
      ),
    );

    return [
      h('h2', {}, 'Seats held'),
      timer,
      h('ul', { class: 'picked-list', 'aria-label': 'Held seats' }, ...booking.seats.map((s) => h('li', {}, h('span', {}, `${seatName(s)} · ${s.category}`), h('span', { class: 'price' }, money(s.price, booking.currency))))),
      h('p', { class: 'total' }, 'Total ', h('strong', {}, money(booking.total, booking.currency))),
      form,
      release,
    ];
  }

  function confirmedPanel(booking: Booking): Child[] {
    const again = h('button', { type: 'button', class: 'secondary' }, 'Book more seats');
    again.addEventListener('click', () => {
      for (const s of booking.seats) map.mine.delete(s.id);
      map.redraw(booking.seats.map((s) => s.id));
      phase = { kind: 'picking' };
      clearMessages();
      renderPanel();
    });
    return [
      h('div', { class: 'confirmed', id: 'confirmation' },
        h('h2', {}, 'Booking confirmed'),
        h('p', {}, `${show.movie.title}, ${formatDateTime(show.startsAt)}, ${show.theatre.name} · ${show.screen.name}`),
        h('p', {}, seatList(booking.seats), '. Paid ', h('strong', {}, money(booking.payment?.amount ?? booking.total, booking.currency)), '.'),
        ticketList(booking),
      ),
      h('p', { class: 'actions' }, h('a', { href: href('/bookings'), class: 'button primary' }, 'My bookings'), again),
    ];
  }

  /** Follows the seat stream until the page is left, reconnecting (with Last-Event-ID) after a drop. */
  async function follow(): Promise<void> {
    let lastEventId: string | undefined;
    let wasLive = false;
    while (!ctx.signal.aborted) {
      try {
        const events = client.seats(showId, { signal: ctx.signal, ...(lastEventId === undefined ? {} : { lastEventId }) });
        for await (const event of events) {
          lastEventId = event.id ?? lastEventId;
          map.setStatuses(event.seats);
          reconcile();
          if (!wasLive) {
            wasLive = true;
            live.dataset['live'] = 'true';
            replace(live, h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Live: seats update as people book');
          }
        }
      } catch {
        // A dropped connection or a server restart: try again below.
      }
      if (ctx.signal.aborted) return;
      wasLive = false;
      live.dataset['live'] = 'false';
      replace(live, 'Reconnecting…');
      await sleep(1000, ctx.signal);
    }
  }

  // A hold of this show still pending (the visitor came back): carry on with it.
  if (signedIn() && bookable) {
    const pending = await client.api.GET('/api/v1/bookings', { params: { query: { status: 'pending', limit: 20 } }, signal: ctx.signal });
    const mine = pending.data?.items.find((b) => b.showId === showId && new Date(b.expiresAt).getTime() > Date.now() + 2000);
    if (mine !== undefined) {
      for (const s of mine.seats) map.picked.delete(s.id);
      for (const s of mine.seats) map.mine.add(s.id);
      map.redraw();
      phase = { kind: 'held', booking: mine };
    }
  }

  replace(
    ctx.view,
    h(
      'div',
      { class: 'show-page' },
      h(
        'header',
        { class: 'show-header' },
        h('p', { class: 'back' }, h('a', { href: href('/') }, '← All shows')),
        pageHeading(show.movie.title),
        h('p', { class: 'show-facts' }, h('time', { datetime: show.startsAt }, formatDateTime(show.startsAt)), ` · ${show.theatre.name}, ${show.theatre.city} · ${show.screen.name}`),
        h('p', { class: 'muted' }, `${[show.movie.certificate, show.movie.language, `${show.movie.durationMinutes} min`].filter((x) => x !== null && x !== '').join(' · ')} · ends about ${formatTime(show.endsAt)}`),
      ),
      h(
        'div',
        { class: 'show-layout' },
        h('section', { class: 'map-area', 'aria-labelledby': 'map-title' }, h('h2', { id: 'map-title', class: 'visually-hidden' }, 'Seats'), live, legend(map, currency), map.element),
        h('aside', { class: 'panel', 'aria-label': 'Your booking' }, messages, panel),
      ),
      pickBar,
    ),
  );
  map.centre();
  renderPanel();
  follow().catch(() => undefined);
}
