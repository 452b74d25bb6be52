/**
 * Which show this door admits: optional. With a show chosen, check-in sends its id and the
 * API refuses a ticket of any other show (409 WRONG_SHOW). The choice is kept in
 * localStorage, so a reload (or a phone that slept) keeps admitting the same show; a choice
 * that is no longer among today's shows is dropped rather than refusing every ticket.
 */
import { client } from './api.ts';
import { formatTime } from './door-answer.ts';

const STORAGE_KEY = 'marquee.door.show';
/** A cinema's day runs past midnight: today's shows are those starting before 04:00 tomorrow. */
const DAY_ENDS_AFTER_MIDNIGHT_HOURS = 4;

interface Choice {
  theatreId: string;
  showId?: string;
  /** What the door shows of the chosen show, so it is on screen before the list loads. */
  label?: string;
}

export interface ShowPickerElements {
  details: HTMLDetailsElement;
  current: HTMLElement;
  theatre: HTMLSelectElement;
  show: HTMLSelectElement;
  message: HTMLElement;
}

function load(): Choice | undefined {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw === null) return undefined;
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null || !('theatreId' in parsed) || typeof parsed.theatreId !== 'string') return undefined;
    const choice: Choice = { theatreId: parsed.theatreId };
    if ('showId' in parsed && typeof parsed.showId === 'string') choice.showId = parsed.showId;
    if ('label' in parsed && typeof parsed.label === 'string') choice.label = parsed.label;
    return choice;
  } catch {
    return undefined;
  }
}

function save(choice: Choice | undefined): void {
  if (choice === undefined) localStorage.removeItem(STORAGE_KEY);
  else localStorage.setItem(STORAGE_KEY, JSON.stringify(choice));
}

/** [today 00:00, tomorrow 04:00) in the door's own time zone, as the API's from/to. */
function today(now: Date = new Date()): { from: string; to: string } {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const end = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, DAY_ENDS_AFTER_MIDNIGHT_HOURS);
  return { from: start.toISOString(), to: end.toISOString() };
}

function option(value: string, text: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  return o;
}

export interface ShowPicker {
  /** The chosen show's id, or undefined for "any show". */
  showId(): string | undefined;
  /** (Re)loads the theatres and today's shows of the chosen theatre. */
  refresh(): Promise<void>;
}

export function setUpShowPicker(els: ShowPickerElements): ShowPicker {
  let choice = load();

  const showCurrent = (): void => {
    els.current.textContent = choice?.showId !== undefined ? (choice.label ?? 'the chosen show') : 'any show';
    els.details.classList.toggle('show-pick--chosen', choice?.showId !== undefined);
  };

  // Only the latest load draws the list: changing theatre twice quickly must not mix their shows.
  let loads = 0;
  const loadShows = async (): Promise<void> => {
    const mine = (loads += 1);
    els.show.replaceChildren(option('', 'Any show (no show check)'));
    els.show.disabled = true;
    if (choice === undefined) return;
    els.message.textContent = '';
    // A network failure rejects (openapi-fetch throws what fetch throws): that is "no connection".
    const result = await client.api.GET('/api/v1/shows', { params: { query: { theatreId: choice.theatreId, ...today(), limit: 100 } } }).catch(() => undefined);
    if (mine !== loads) return;
    if (result === undefined) {
      els.message.textContent = 'Could not load today’s shows: check the connection.';
      return;
    }
    if (result.data === undefined) {
      els.message.textContent = `Could not load today’s shows: ${result.error.detail}`;
      return;
    }
    const shows = result.data.items.filter((s) => s.status === 'scheduled');
    for (const s of shows) els.show.append(option(s.id, `${formatTime(s.startsAt)} ${s.movie.title} — ${s.screen.name}`));
    if (shows.length === 0) els.show.append(option('', 'No more shows today at this theatre'));
    els.show.disabled = false;
    const chosen = choice.showId === undefined ? undefined : shows.find((s) => s.id === choice?.showId);
    if (choice.showId !== undefined && chosen === undefined) {
      // Yesterday's choice (or a cancelled show) would refuse every ticket: let the usher choose again.
      choice = { theatreId: choice.theatreId };
      save(choice);
      els.message.textContent = 'The show chosen earlier is not on today: admitting any show until you choose one.';
    }
    els.show.value = chosen?.id ?? '';
    showCurrent();
  };

  const refresh = async (): Promise<void> => {
    els.theatre.replaceChildren(option('', 'Choose a theatre'));
    const result = await client.api.GET('/api/v1/theatres', { params: { query: { limit: 100 } } }).catch(() => undefined);
    if (result === undefined) {
      els.message.textContent = 'Could not load the theatres: check the connection.';
      return;
    }
    if (result.data === undefined) {
      els.message.textContent = `Could not load the theatres: ${result.error.detail}`;
      return;
    }
    for (const t of result.data.items) els.theatre.append(option(t.id, `${t.name}, ${t.city}`));
    if (choice !== undefined && !result.data.items.some((t) => t.id === choice?.theatreId)) {
      choice = undefined;
      save(choice);
      showCurrent();
    }
    els.theatre.value = choice?.theatreId ?? '';
    await loadShows();
  };

  els.theatre.addEventListener('change', () => {
    choice = els.theatre.value === '' ? undefined : { theatreId: els.theatre.value };
    save(choice);
    showCurrent();
    void loadShows();
  });
  els.show.addEventListener('change', () => {
    if (choice === undefined) return;
    const picked = els.show.selectedOptions[0];
    choice = els.show.value === '' || picked === undefined ? { theatreId: choice.theatreId } : { theatreId: choice.theatreId, showId: els.show.value, label: picked.text };
    save(choice);
    showCurrent();
  });

  showCurrent();
  return { showId: () => choice?.showId, refresh };
}
