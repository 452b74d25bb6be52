/** What's on (`#/?city=…&date=…`): upcoming shows, filtered by city and day. */
import { client, type Schemas } from './api.ts';
import { h, notice, replace } from './dom.ts';
import { formatDay, formatTime, isoDay } from './format.ts';
import { busy, handle, pageHeading, type PageContext } from './page.ts';
import { ok } from './problem.ts';
import { go, href } from './router.ts';

type Show = Schemas['Show'];

/** Every city with a theatre (the theatre list, a page of 100 at a time). */
async function cities(signal: AbortSignal): Promise<string[]> {
  const found = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const data = ok(await client.api.GET('/api/v1/theatres', { params: { query: { limit: 100, ...(cursor === undefined ? {} : { cursor }) } }, signal }));
    for (const t of data.items) found.add(t.city);
    if (data.nextCursor === null) break;
    cursor = data.nextCursor;
  }
  return [...found].sort((a, b) => a.localeCompare(b));
}

/** The from/to of a local calendar day (YYYY-MM-DD), never before now. */
function dayRange(day: string): { from: string; to: string } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (m === null) return undefined;
  const start = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const end = new Date(start);
  end.setDate(end.getDate() + 1);
  const from = new Date(Math.max(start.getTime(), Date.now()));
  return { from: from.toISOString(), to: end.toISOString() };
}

function seatsLeft(show: Show): HTMLElement {
  if (show.status === 'cancelled') return h('span', { class: 'badge badge-bad' }, 'Cancelled');
  if (show.availableSeats === 0) return h('span', { class: 'badge badge-bad' }, 'Sold out');
  const few = show.availableSeats <= Math.max(5, show.totalSeats * 0.1);
  return h('span', { class: `badge ${few ? 'badge-warn' : 'badge-ok'}` }, `${show.availableSeats} of ${show.totalSeats} seats left`);
}

function showCard(show: Show): HTMLElement {
  const m = show.movie;
  const meta = [m.certificate, m.language, `${m.durationMinutes} min`].filter((x): x is string => x !== null && x !== '').join(' · ');
  return h(
    'li',
    { class: 'show-card' },
    h(
      'a',
      { href: href(`/shows/${show.id}`), class: 'show-link', 'data-show-id': show.id },
      h('span', { class: 'show-time' }, h('time', { datetime: show.startsAt }, formatTime(show.startsAt)), h('span', { class: 'show-day' }, formatDay(new Date(show.startsAt)))),
      h('span', { class: 'show-body' }, h('span', { class: 'show-title' }, m.title), h('span', { class: 'show-meta' }, meta), h('span', { class: 'show-where' }, `${show.theatre.name}, ${show.theatre.city} · ${show.screen.name}`)),
      seatsLeft(show),
    ),
  );
}

export async function browsePage(ctx: PageContext): Promise<void> {
  const { query } = ctx.route;
  const city = query.get('city') ?? '';
  const day = query.get('date') ?? '';
  const list = h('ul', { class: 'show-list', 'aria-label': 'Shows' });
  const status = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading shows…'));
  const more = h('div', { class: 'more' });

  const citySelect = h('select', { id: 'city', name: 'city' }, h('option', { value: '' }, 'All cities'));
  const dateInput = h('input', { id: 'date', name: 'date', type: 'date', value: day, min: isoDay(new Date()) });
  const apply = () => go(href('/', { city: citySelect.value, date: dateInput.value }));
  citySelect.addEventListener('change', apply);
  dateInput.addEventListener('change', apply);

  // One chip per day of the coming week: one tap on a phone.
  const chips = h('nav', { class: 'day-chips', 'aria-label': 'Day' });
  const today = new Date();
  for (let i = -1; i < 7; i++) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() + Math.max(i, 0));
    const value = i < 0 ? '' : isoDay(d);
    const label = i < 0 ? 'Any day' : i === 0 ? 'Today' : i === 1 ? 'Tomorrow' : formatDay(d);
    chips.append(h('a', { href: href('/', { city, date: value }), class: 'chip', 'aria-current': value === day ? 'true' : null }, label));
  }

  replace(
    ctx.view,
    h(
      'section',
      {},
      pageHeading("What's on"),
      h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter shows' }, h('div', { class: 'field' }, h('label', { for: 'city' }, 'City'), citySelect), h('div', { class: 'field' }, h('label', { for: 'date' }, 'Date'), dateInput)),
      chips,
      status,
      list,
      more,
    ),
  );

  // The cities fill in while the shows load; a failure there only costs the filter's choices.
  cities(ctx.signal)
    .then((names) => {
      if (city !== '' && !names.includes(city)) names.unshift(city);
      for (const name of names) citySelect.append(h('option', { value: name, selected: name === city }, name));
    })
    .catch(() => {
      if (city !== '') citySelect.append(h('option', { value: city, selected: true }, city));
    });

  const range = day === '' ? undefined : dayRange(day);
  if (day !== '' && (range === undefined || range.to <= range.from)) {
    replace(status, notice('info', 'That day is over: pick today or a later day.'));
    return;
  }
  const load = async (cursor: string | undefined) => {
    const page = ok(
      await client.api.GET('/api/v1/shows', {
        params: { query: { limit: 30, ...(city === '' ? {} : { city }), ...(range ?? {}), ...(cursor === undefined ? {} : { cursor }) } },
        signal: ctx.signal,
      }),
    );
    for (const show of page.items) list.append(showCard(show));
    replace(status, list.childElementCount === 0 ? notice('info', `No shows${city === '' ? '' : ` in ${city}`}${day === '' ? ' coming up' : ' on that day'}. Try another day or city.`) : null);
    if (page.nextCursor === null) {
      replace(more);
      return;
    }
    const next = page.nextCursor;
    const button = h('button', { type: 'button', class: 'secondary' }, 'More shows');
    button.addEventListener('click', () => handle(more, () => busy(button, 'Loading…', () => load(next))));
    replace(more, button);
  };
  await load(undefined);
}
