-- Up Migration

-- The live_seat_claims view (003) was never read by the code: the seat map, availableSeats
-- and best-seat suggestions apply its rule in their own queries, filtered by show first
-- (src/features/shows/repo.ts). Nothing tested it, so it could drift from the rule the API
-- serves without anyone noticing. Dropped rather than kept as a second, untested copy.
-- A seat is taken while a claim is confirmed, or pending with expires_at > now().
DROP VIEW live_seat_claims;

-- Down Migration
CREATE VIEW live_seat_claims AS
SELECT bs.show_seat_id, bs.show_id, bs.booking_id, b.user_id,
       CASE WHEN bs.booking_status = 'confirmed' THEN 'booked' ELSE 'held' END AS status,
       CASE WHEN bs.booking_status = 'pending' THEN b.expires_at END AS hold_expires_at
  FROM booking_seats bs
  JOIN bookings b ON b.id = bs.booking_id
 WHERE bs.booking_status = 'confirmed'
    OR (bs.booking_status = 'pending' AND b.expires_at > now());
