import { conflict, notFound } from '../../domain/errors.ts';
import type { TicketShowDto } from './schemas.ts';

/** A code that does not verify, or a ticket we do not have: the same answer, nothing to probe. */
export const ticketNotFound = () => notFound('ticket');
export const alreadyCheckedIn = (checkedInAt: string) =>
  conflict('ALREADY_CHECKED_IN', 'Already checked in', `This ticket was checked in at ${checkedInAt}; it admits one person once.`, { checkedInAt });
export const ticketVoid = () => conflict('TICKET_VOID', 'Ticket void', 'This ticket’s booking was cancelled; it admits no one.');
export const wrongShow = (show: TicketShowDto) =>
  conflict('WRONG_SHOW', 'Wrong show', `This ticket is for ${show.movie.title} at ${show.startsAt} (${show.theatre.name}, ${show.screen.name}), not this show.`, { show });
