/**
 * My bookings (`#/bookings`): upcoming and past, each with its seats, status, total and
 * payment (refunds included), the tickets of a confirmed one, and a cancel button (behind a
 * confirmation dialog) while the show is still to come.
 */
import { client, signedIn, type Schemas } from './api.ts';
import { announce, h, notice, replace } from './dom.ts';
import { formatDateTime, money, seatList } from './format.ts';
import { busy, handle, pageHeading, type PageContext } from './page.ts';
import { ok } from './problem.ts';
import { go, href, signInFirst } from './router.ts';
import { ticketList } from './tickets.ts';

type Booking = Schemas['Booking'];
type When = 'upcoming' | 'past';

const STATUS: Record<Booking['status'], { text: string; badge: string }> = {
  pending: { text: 'Held, not paid', badge: 'badge-warn' },
  confirmed: { text: 'Confirmed', badge: 'badge-ok' },
  cancelled: { text: 'Cancelled', badge: 'badge-bad' },
  expired: { text: 'Expired', badge: 'badge-muted' },
};

function paymentLine(b: Booking): string | undefined {
  const p = b.payment;
  if (p === null) return undefined;
  const amount = money(p.amount, p.currency);
  switch (p.status) {
    case 'succeeded':
      return `Paid ${amount}`;
    case 'refund_pending':
      return `Refund of ${amount} on its way (pending)`;
    case 'refunded':
      return `Refunded ${amount}`;
    case 'failed':
      return 'Payment failed';
  }
}

/** Asks before cancelling, in a modal <dialog>; resolves to true when the visitor confirmed. */
function confirmCancel(b: Booking): Promise<boolean> {
  const refund = b.status === 'confirmed' ? ` You will be refunded ${money(b.payment?.amount ?? b.total, b.currency)}.` : '';
  const dialog = h(
    'dialog',
    { class: 'confirm-dialog', 'aria-labelledby': 'cancel-title', 'aria-describedby': 'cancel-text' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'cancel-title' }, 'Cancel this booking?'),
      h('p', { id: 'cancel-text' }, `${b.show.movie.title}, ${formatDateTime(b.show.startsAt)}: ${seatList(b.seats)}. The seats will be released and the tickets void.${refund}`),
      h('p', { class: 'actions' }, h('button', { value: 'keep', class: 'secondary', autofocus: true }, 'Keep booking'), h('button', { value: 'cancel', class: 'danger' }, 'Cancel booking')),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'cancel');
      dialog.remove();
    }, { once: true });
    dialog.showModal();
  });
}

function bookingCard(b: Booking, when: When): HTMLElement {
  const status = STATUS[b.status];
  const messages = h('div', { class: 'card-messages', 'aria-live': 'polite' });
  const checkedIn = b.tickets.some((t) => t.status === 'checked_in');
  const canCancel = when === 'upcoming' && (b.status === 'pending' || b.status === 'confirmed');
  const actions = h('p', { class: 'actions' });
  if (b.status === 'pending' && when === 'upcoming' && new Date(b.expiresAt).getTime() > Date.now()) {
    actions.append(h('a', { href: href(`/shows/${b.showId}`), class: 'button primary' }, 'Complete payment'));
  }
  if (canCancel && checkedIn) {
    actions.append(h('span', { class: 'muted' }, 'A ticket was checked in: this booking can no longer be cancelled.'));
  } else if (canCancel) {
    const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel booking');
    cancel.addEventListener('click', () =>
      handle(messages, async () => {
        if (!(await confirmCancel(b))) {
          cancel.focus();
          return;
        }
        const cancelled = await busy(cancel, 'Cancelling…', async () =>
          ok(await client.api.POST('/api/v1/bookings/{id}/cancel', { params: { path: { id: b.id } } })),
        );
        const card = bookingCard(cancelled, when);
        const refund = paymentLine(cancelled);
        const text = `Booking cancelled.${refund === undefined || cancelled.payment?.status === 'succeeded' ? '' : ` ${refund}.`}`;
        card.querySelector('.card-messages')?.append(notice('success', text));
        article.replaceWith(card);
        card.querySelector('h3')?.focus();
        announce(text);
      }),
    );
    actions.append(cancel);
  }
  const payment = paymentLine(b);
  const article = h(
    'article',
    { class: `booking booking-${b.status}`, 'data-booking-id': b.id, 'aria-labelledby': `b-${b.id}` },
    h('header', {}, h('h3', { id: `b-${b.id}`, tabindex: -1 }, b.show.movie.title), h('span', { class: `badge ${status.badge}` }, status.text)),
    h('p', { class: 'booking-when' }, h('time', { datetime: b.show.startsAt }, formatDateTime(b.show.startsAt)), ` · ${b.show.theatre.name}, ${b.show.theatre.city} · ${b.show.screen.name}`),
    h('p', { class: 'booking-seats' }, seatList(b.seats)),
    h('p', { class: 'booking-total' }, 'Total ', h('strong', {}, money(b.total, b.currency)), payment === undefined ? '' : h('span', { class: 'payment', 'data-payment-status': b.payment?.status ?? '' }, ` · ${payment}`)),
    messages,
    ticketList(b),
    actions.childElementCount > 0 ? actions : null,
  );
  return article;
}

async function section(ctx: PageContext, when: When, into: HTMLElement): Promise<void> {
  const list = h('div', { class: 'booking-list' });
  const more = h('div', { class: 'more' });
  replace(into, h('h2', { id: `${when}-title` }, when === 'upcoming' ? 'Upcoming' : 'Past'), list, more);
  const load = async (cursor: string | undefined) => {
    const page = ok(
      await client.api.GET('/api/v1/bookings', {
        params: { query: { when, limit: 20, ...(cursor === undefined ? {} : { cursor }) } },
        signal: ctx.signal,
      }),
    );
    for (const b of page.items) list.append(bookingCard(b, when));
    if (list.childElementCount === 0) list.append(h('p', { class: 'muted' }, when === 'upcoming' ? 'Nothing booked yet. ' : 'No past bookings.', when === 'upcoming' ? h('a', { href: href('/') }, "See what's on") : ''));
    if (page.nextCursor === null) {
      replace(more);
      return;
    }
    const next = page.nextCursor;
    const button = h('button', { type: 'button', class: 'secondary' }, 'More');
    button.addEventListener('click', () => handle(more, () => busy(button, 'Loading…', () => load(next))));
    replace(more, button);
  };
  await load(undefined);
}

export async function bookingsPage(ctx: PageContext): Promise<void> {
  if (!signedIn()) {
    go(signInFirst(ctx.route));
    return;
  }
  const upcoming = h('section', { class: 'bookings', 'aria-labelledby': 'upcoming-title' }, h('p', { class: 'muted' }, 'Loading…'));
  const past = h('section', { class: 'bookings', 'aria-labelledby': 'past-title' });
  replace(ctx.view, h('div', { class: 'bookings-page' }, pageHeading('My bookings'), upcoming, past));
  await Promise.all([section(ctx, 'upcoming', upcoming), section(ctx, 'past', past)]);
}
