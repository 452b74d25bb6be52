/**
 * Tickets: codes, QR images and check-in at the door. A code verifies offline (codes.ts);
 * a check-in is one statement (ticket_check_in(), migration 010) that serialises with a
 * cancel of the same booking and lets exactly one of many concurrent scans through.
 */
import QRCode from 'qrcode';
import type { Db } from '../../db/pool.ts';
import { forbidden } from '../../domain/errors.ts';
import type { AuthUser } from '../../domain/identity.ts';
import { ticketWithCode, type TicketCodec } from './codes.ts';
import { alreadyCheckedIn, ticketNotFound, ticketVoid, wrongShow } from './errors.ts';
import * as repo from './repo.ts';
import type { CheckInBody, CheckInDto } from './schemas.ts';

export interface TicketDeps {
  db: Db;
  codec: TicketCodec;
}

export function createTicketService(deps: TicketDeps) {
  const { db, codec } = deps;
  return {
    /**
     * Checks a ticket in: staff (ushers) and admins only.
     * @throws FORBIDDEN (any other role), NOT_FOUND (a code that does not verify, or no such
     * ticket), TICKET_VOID (its booking was cancelled), WRONG_SHOW (showId given and the ticket
     * is for another show; with the ticket's show), ALREADY_CHECKED_IN (with the first scan's time).
     */
    async checkIn(user: AuthUser, body: CheckInBody): Promise<CheckInDto> {
      // The route checks the role too; the service does not rely on it.
      if (user.role !== 'staff' && user.role !== 'admin') throw forbidden('Only staff (ushers) and admins check tickets in.');
      const ticketId = codec.verify(body.code);
      if (ticketId === undefined) throw ticketNotFound();
      const r = await repo.checkIn(db.pool, { ticketId, showId: body.showId ?? null, staffId: user.id });
      if (r.outcome === 'not_found' || r.ticket === null || r.seat === null || r.show === null || r.holder === null) throw ticketNotFound();
      switch (r.outcome) {
        case 'void':
          throw ticketVoid();
        case 'wrong_show':
          throw wrongShow(r.show);
        case 'already_checked_in':
          throw alreadyCheckedIn(r.ticket.checkedInAt ?? '');
        case 'checked_in':
          return { ticket: ticketWithCode(codec, r.ticket), seat: r.seat, show: r.show, holderName: r.holder.name };
      }
    },

    /**
     * The QR image (SVG) of a ticket, for its booking's owner, staff and admins. The code is
     * verified first (no query for a forged one); then one indexed read says whose it is.
     * @throws NOT_FOUND for a code that does not verify, no such ticket, or someone else's
     * ticket (never 403: no existence leak).
     */
    async qrSvg(user: AuthUser, code: string): Promise<string> {
      const ticketId = codec.verify(code);
      if (ticketId === undefined) throw ticketNotFound();
      if (user.role !== 'staff' && user.role !== 'admin') {
        const owner = await repo.ticketOwner(db.pool, ticketId);
        if (owner !== user.id) throw ticketNotFound();
      }
      return QRCode.toString(code, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    },
  };
}

export type TicketService = ReturnType<typeof createTicketService>;
