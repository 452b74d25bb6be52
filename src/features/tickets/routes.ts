import { defineRoute, type RouteContext } from '../../http/route.ts';
import { problem } from '../../http/schemas.ts';
import { checkInBody, checkInSchema, codeParams } from './schemas.ts';
import type { TicketService } from './service.ts';

/**
 * A code's image never changes (a code is its ticket's for good), so the browser may keep it a
 * year; only the browser: the code is the ticket, never for a shared cache.
 */
const QR_CACHE_CONTROL = 'private, max-age=31536000, immutable';

export function ticketRoutes(ctx: RouteContext, tickets: TicketService): void {
  const tag = 'Tickets';
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/tickets/check-in',
      operationId: 'checkInTicket',
      tag,
      summary: 'Check a ticket in at the door (staff)',
      description:
        'Verifies the code (signed by the server: a forged or altered code is 404) and admits its seat once: the first scan answers ' +
        '200 with the seat, the show and the holder’s name; every later scan 409 ALREADY_CHECKED_IN with the first scan’s time ' +
        '(of two scanners at once exactly one gets the 200). With showId, a ticket of another show is 409 WRONG_SHOW. ' +
        'A ticket of a cancelled booking is 409 TICKET_VOID. Once a ticket is checked in its booking can no longer be cancelled.',
      access: 'staff',
      body: checkInBody,
      responses: {
        200: { description: 'Checked in: admit this person', schema: checkInSchema },
        404: problem('NOT_FOUND: the code does not verify, or there is no such ticket'),
        409: problem(
          'ALREADY_CHECKED_IN (with checkedInAt: the first scan’s time), TICKET_VOID (the booking was cancelled) or ' +
            'WRONG_SHOW (showId was given and the ticket is for another show; with show: the ticket’s show)',
        ),
      },
    },
    async ({ body, user }, _req, res) => {
      if (user === undefined) return;
      res.json(await tickets.checkIn(user, body));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/tickets/:code/qr.svg',
      operationId: 'getTicketQr',
      tag,
      summary: 'The QR image of a ticket code (SVG)',
      description:
        'The QR code (error correction M) of the ticket code, for the booking’s owner, staff and admins; anyone else’s ticket is 404, ' +
        'like a code that does not verify. ' +
        `The browser may keep it for good (Cache-Control: ${QR_CACHE_CONTROL}): the image of a code never changes. Percent-encode the code in the path.`,
      access: 'user',
      noStore: false,
      params: codeParams,
      responses: {
        200: { description: 'The QR image', contentType: 'image/svg+xml' },
        404: problem('NOT_FOUND: the code does not verify, or the ticket is not yours'),
      },
    },
    async ({ params, user }, _req, res) => {
      if (user === undefined) return;
      const svg = await tickets.qrSvg(user, params.code);
      res.setHeader('Cache-Control', QR_CACHE_CONTROL);
      res.type('image/svg+xml').send(svg);
    },
  );
}
