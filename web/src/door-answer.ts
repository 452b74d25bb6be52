/**
 * The door's answer to one scan, and how it is drawn: a full-width block, green for "admit"
 * and red for every refusal, but never colour alone: a big ✓ or ✗, a verdict in words and
 * the reason. The block is the page's live region (role="status"), so a screen reader reads
 * each new answer; it is redrawn whole (aria-atomic) so the reading is never half old, half new.
 */

/** What the door shows of a show; the check-in answer's `show` (and WRONG_SHOW's) has this shape. */
export interface ShowLabel {
  startsAt: string;
  movie: { title: string };
  theatre: { name: string };
  screen: { name: string };
}

export type Answer =
  | { kind: 'ready' }
  | { kind: 'checking' }
  | { kind: 'admit'; seat: { row: string; number: number; category: string }; show: ShowLabel; holder: string }
  | { kind: 'already'; checkedInAt: string | undefined }
  | { kind: 'void' }
  | { kind: 'wrong-show'; show: ShowLabel | undefined }
  | { kind: 'invalid' }
  | { kind: 'forbidden' }
  | { kind: 'signed-out' }
  | { kind: 'offline' }
  | { kind: 'error'; detail: string };

type Tone = 'ready' | 'checking' | 'admit' | 'refuse';

const toneOf = (a: Answer): Tone => (a.kind === 'ready' || a.kind === 'checking' || a.kind === 'admit' ? a.kind : 'refuse');

const sameDay = (a: Date, b: Date) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

/** A time as the usher reads it: the clock time, with the date in front when it is not today. */
export function formatTime(iso: string, seconds = false, now: Date = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
  return sameDay(d, now) ? time : `${d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })} ${time}`;
}

/** "Movie — 19:30, Screen 2, Theatre" */
export function showText(show: ShowLabel): string {
  return `${show.movie.title} — ${formatTime(show.startsAt)}, ${show.screen.name}, ${show.theatre.name}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  node.append(...children);
  return node;
}

/** A <time> whose datetime attribute keeps the exact instant (what a test or a curious usher can check). */
function timeEl(iso: string, seconds: boolean): HTMLTimeElement {
  const t = el('time', '', formatTime(iso, seconds));
  t.dateTime = iso;
  return t;
}

/** The verdict line ("✓ Admit" / "✗ Do not admit") and the reason in words. */
function heading(tone: Tone, reason: string): HTMLElement[] {
  if (tone === 'ready' || tone === 'checking') return [el('p', 'answer__verdict', reason)];
  const mark = el('span', 'answer__mark', tone === 'admit' ? '✓' : '✗');
  mark.setAttribute('aria-hidden', 'true');
  return [
    el('p', 'answer__verdict', mark, tone === 'admit' ? 'Admit' : 'Do not admit'),
    ...(tone === 'admit' ? [] : [el('p', 'answer__reason', reason)]),
  ];
}

/** The answer's title and detail lines, without the verdict. */
function body(a: Answer): { reason: string; lines: HTMLElement[] } {
  switch (a.kind) {
    case 'ready':
      return { reason: 'Ready: scan or type a ticket code.', lines: [] };
    case 'checking':
      return { reason: 'Checking…', lines: [] };
    case 'admit':
      return {
        reason: 'Admit',
        lines: [
          el('p', 'answer__seat', `Row ${a.seat.row}, seat ${a.seat.number}`, el('span', 'answer__category', ` ${a.seat.category}`)),
          el('p', 'answer__holder', a.holder),
          el('p', 'answer__show', `${a.show.movie.title} · `, timeEl(a.show.startsAt, false), ` · ${a.show.screen.name}`),
        ],
      };
    case 'already':
      return {
        reason: 'Already checked in',
        lines: [el('p', 'answer__detail', ...(a.checkedInAt === undefined ? ['This ticket was scanned before.'] : ['First scanned at ', timeEl(a.checkedInAt, true), '.']))],
      };
    case 'void':
      return { reason: 'Ticket void: booking cancelled', lines: [el('p', 'answer__detail', 'The booking was cancelled; this ticket no longer admits anyone.')] };
    case 'wrong-show':
      return {
        reason: 'Wrong show',
        lines: [el('p', 'answer__detail', ...(a.show === undefined ? ['This ticket is for another show.'] : ['This ticket is for ', a.show.movie.title, ' at ', timeEl(a.show.startsAt, false), `, ${a.show.screen.name}, ${a.show.theatre.name}.`]))],
      };
    case 'invalid':
      return { reason: 'Not a valid ticket', lines: [el('p', 'answer__detail', 'This code is not a Marquee ticket. Check it was typed or scanned whole.')] };
    case 'forbidden':
      return { reason: 'Not allowed to check in', lines: [el('p', 'answer__detail', 'Only staff or admin accounts can check tickets in. Sign out and sign in as staff.')] };
    case 'signed-out':
      return { reason: 'Signed out', lines: [el('p', 'answer__detail', 'Your sign-in ended. Sign in again, then scan this ticket again.')] };
    case 'offline':
      return { reason: 'No answer from the server', lines: [el('p', 'answer__detail', 'Check the connection and scan the ticket again. It was not checked.')] };
    case 'error':
      return { reason: 'Could not check this ticket', lines: [el('p', 'answer__detail', a.detail)] };
  }
}

/** Draws the answer into the live region (replacing the last one). */
export function renderAnswer(region: HTMLElement, a: Answer, at: Date = new Date()): void {
  const tone = toneOf(a);
  const { reason, lines } = body(a);
  region.className = `answer answer--${tone}`;
  region.dataset['kind'] = a.kind;
  const stamp = tone === 'ready' || tone === 'checking' ? [] : [el('p', 'answer__at', `Scanned at ${formatTime(at.toISOString(), true)}`)];
  region.replaceChildren(...heading(tone, reason), ...lines, ...stamp);
}

/** One line for the recent-scans list: "19:02:11 ✓ Row C, seat 4 — Ada" / "19:02:30 ✗ Already checked in". */
export function recentLine(a: Answer, at: Date = new Date()): HTMLLIElement | undefined {
  const tone = toneOf(a);
  if (tone === 'ready' || tone === 'checking') return undefined;
  const { reason } = body(a);
  const what = a.kind === 'admit' ? `Row ${a.seat.row}, seat ${a.seat.number} — ${a.holder}` : reason;
  const li = el('li', `recent__item recent__item--${tone}`, `${formatTime(at.toISOString(), true)} ${tone === 'admit' ? '✓' : '✗'} ${what}`);
  return li;
}
