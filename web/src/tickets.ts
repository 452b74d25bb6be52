/**
 * A booking's tickets: each one's seat, code, QR image and state. The image
 * (GET /tickets/{code}/qr.svg) is for the ticket's owner only, so it is fetched with the
 * sign-in's token and shown from a data: URL (an <img src> could not send the token; the CSP
 * allows data: images).
 */
import { client, type Schemas } from './api.ts';
import { h } from './dom.ts';
import { formatDateTime, seatName } from './format.ts';

type Booking = Schemas['Booking'];
type Ticket = Schemas['Ticket'];

const STATE: Record<Ticket['status'], string> = {
  valid: 'Valid',
  checked_in: 'Checked in',
  void: 'Void (booking cancelled)',
};

/** Loads the ticket's QR image into img; on failure the alt text says so. */
async function loadQr(img: HTMLImageElement, code: string): Promise<void> {
  const { data } = await client.api
    .GET('/api/v1/tickets/{code}/qr.svg', { params: { path: { code } }, parseAs: 'text' })
    .catch(() => ({ data: undefined }));
  if (typeof data === 'string' && data.length > 0) img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data)}`;
  else {
    img.alt = `${img.alt} (could not be loaded; the code below works at the door too)`;
    img.classList.add('qr-failed');
  }
}

function qrImage(code: string, name: string): HTMLImageElement {
  const img = h('img', { class: 'qr', alt: `QR code for ticket, ${name}`, width: 132, height: 132 });
  void loadQr(img, code);
  return img;
}

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
        qrImage(t.code, name),
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
