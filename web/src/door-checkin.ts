/**
 * One check-in: POST /api/v1/tickets/check-in through the typed client, and the API's answer
 * turned into what the door shows. Never throws: a network failure is an answer too ("no
 * answer from the server"), because the usher must see something for every scan.
 */
import { client } from './api.ts';
import type { Answer, ShowLabel } from './door-answer.ts';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const named = (v: unknown): { name: string } | undefined => (isRecord(v) && typeof v['name'] === 'string' ? { name: v['name'] } : undefined);

/** WRONG_SHOW's `show` extension, checked rather than trusted: the door still says "wrong show" without it. */
function showLabel(v: unknown): ShowLabel | undefined {
  if (!isRecord(v)) return undefined;
  const { startsAt, movie } = v;
  const theatre = named(v['theatre']);
  const screen = named(v['screen']);
  if (typeof startsAt !== 'string' || !isRecord(movie) || typeof movie['title'] !== 'string' || theatre === undefined || screen === undefined) return undefined;
  return { startsAt, movie: { title: movie['title'] }, theatre, screen };
}

export async function checkIn(code: string, showId: string | undefined): Promise<Answer> {
  const result = await client.api
    .POST('/api/v1/tickets/check-in', { body: showId === undefined ? { code } : { code, showId } })
    .catch(() => undefined);
  if (result === undefined) return { kind: 'offline' };
  const { data, error, response } = result;
  if (data !== undefined) return { kind: 'admit', seat: data.seat, show: data.show, holder: data.holder.name };
  switch (response.status) {
    case 404:
      return { kind: 'invalid' };
    case 401:
      return { kind: 'signed-out' };
    case 403:
      return { kind: 'forbidden' };
    case 409:
      if (error.code === 'ALREADY_CHECKED_IN') return { kind: 'already', checkedInAt: typeof error['checkedInAt'] === 'string' ? error['checkedInAt'] : undefined };
      if (error.code === 'TICKET_VOID') return { kind: 'void' };
      if (error.code === 'WRONG_SHOW') return { kind: 'wrong-show', show: showLabel(error['show']) };
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
