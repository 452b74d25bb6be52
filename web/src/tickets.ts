/** A booking's tickets: each one's seat, code, QR image (GET /tickets/{code}/qr.svg, no auth) and state. */
import type { Schemas } from './api.ts';
import { h } from './dom.ts';
import { formatDateTime, seatName } from './format.ts';

type Booking = Schemas['Booking'];
type Ticket = Schemas['Ticket'];

const STATE: Record<Ticket['status'], string> = {
  valid: 'Valid',
  checked_in: 'Checked in',
  void: 'Void (booking cancelled)',
};

export const qrUrl = (code: string): string => `/api/v1/tickets/${encodeURIComponent(code)}/qr.svg`;

/** The booking's tickets as a list, or nothing before it is confirmed. */
export function ticketList(booking: Booking): HTMLElement | null {
  if (booking.tickets.length === 0) return null;
  const seats = new Map(booking.seats.map((s) => [s.id, s]));
  return h(
    'ul',
    { class: 'tickets', 'aria-label': `Tickets (${booking.tickets.length})` },
    ...booking.tickets.map((t) => {
      const seat = seats.get(t.seatId);
      const name = seat === undefined ? 'a seat' : seatName(seat);
      const state = t.status === 'checked_in' && t.checkedInAt !== null ? `Checked in ${formatDateTime(t.checkedInAt)}` : STATE[t.status];
      return h(
        'li',
        { class: `ticket ticket-${t.status.replace('_', '-')}`, 'data-ticket-status': t.status },
        // The QR is the ticket at the door: a void one is dimmed, not hidden (the usher's scanner says no).
        h('img', { class: 'qr', src: qrUrl(t.code), alt: `QR code for ticket, ${name}`, width: 132, height: 132 }),
        h(
          'div',
          { class: 'ticket-body' },
          h('p', { class: 'ticket-seat' }, name, seat === undefined ? '' : ` · ${seat.category}`),
          h('p', { class: 'ticket-code-line' }, 'Code ', h('code', { class: 'ticket-code' }, t.code)),
          h('p', { class: `badge ${t.status === 'valid' ? 'badge-ok' : t.status === 'void' ? 'badge-bad' : 'badge-info'}` }, state),
        ),
      );
    }),
  );
}
