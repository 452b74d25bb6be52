/**
 * One check-in: POST /api/v1/tickets/check-in through the typed client, and the API's answer
 * turned into what the door shows. Never throws: a network failure is an answer too ("no
 * answer from the server"), because the usher must see something for every scan.
 */
import { client } from './api.ts';
import type { Answer } from './door-answer.ts';

export async function checkIn(code: string, showId: string | undefined): Promise<Answer> {
  const result = await client.api
    .POST('/api/v1/tickets/check-in', { body: showId === undefined ? { code } : { code, showId } })
    .catch(() => undefined);
  if (result === undefined) return { kind: 'offline' };
  const { data, error, response } = result;
  if (data !== undefined) return { kind: 'admit', seat: data.seat, show: data.show, holder: data.holderName };
  switch (response.status) {
    case 404:
      return { kind: 'invalid' };
    case 401:
      return { kind: 'signed-out' };
    case 403:
      return { kind: 'forbidden' };
    case 409:
      // AlreadyCheckedInProblem and WrongShowProblem in the OpenAPI document: their members are typed.
      if (error.code === 'ALREADY_CHECKED_IN') return { kind: 'already', checkedInAt: error.checkedInAt };
      if (error.code === 'WRONG_SHOW') return { kind: 'wrong-show', show: error.show };
      if (error.code === 'TICKET_VOID') return { kind: 'void' };
      break;
    case 422:
      // A code too long (or empty) to be a ticket fails validation before it is looked at.
      if (error.errors?.some((e) => e.path === 'code') === true) return { kind: 'invalid' };
      break;
    case 429:
      return { kind: 'error', detail: 'Too many scans at once: wait a moment, then scan again.' };
    default:
      break;
  }
  const requestId = response.headers.get('x-request-id');
  return { kind: 'error', detail: `${error.detail}${requestId === null ? '' : ` (request ${requestId})`}` };
}
