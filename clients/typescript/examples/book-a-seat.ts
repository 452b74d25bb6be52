/**
 * The README's "Client SDK" example: sign up, find a show in a city, take the best two seats,
 * hold them and pay. test/sdk.test.ts runs it against a real server.
 */
/* eslint-disable @typescript-eslint/no-non-null-assertion -- an example: a failed step fails at the next line */
import { createMarqueeClient } from '../src/index.ts';

export async function bookASeat(baseUrl: string, email: string, city: string) {
  const marquee = createMarqueeClient({ baseUrl });
  await marquee.register({ email, password: 'a long password', name: 'Me' });
  const { data: shows } = await marquee.api.GET('/api/v1/shows', { params: { query: { city, limit: 1 } } });
  const showId = shows!.items[0]!.id;
  const { data: best } = await marquee.api.POST('/api/v1/shows/{id}/best-seats', { params: { path: { id: showId } }, body: { count: 2 } });
  const { data: hold } = await marquee.hold({ showId, seatIds: best!.seats.map((s) => s.id) });
  const { data: booking } = await marquee.api.POST('/api/v1/bookings/{id}/confirm', { params: { path: { id: hold!.id } }, body: { paymentToken: 'tok_visa' } });
  return booking; // booking.status === 'confirmed'
}
