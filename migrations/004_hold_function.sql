-- Up Migration

-- The hold transaction as one function: one round trip from the server, so the seat locks
-- are held for microseconds of database work instead of a dozen network round trips.
--
-- Lock order: the user's advisory lock, then the requested seats in id order, then booking
-- rows in id order. Seats another transaction is claiming right now are skipped, not waited
-- for (FOR UPDATE SKIP LOCKED): under a rush the loser learns at once that the seat is
-- taken instead of queueing behind the winner, and no hold ever waits on a seat lock.
--
-- Outcomes: held, replayed (same idempotency key and body), key_reused, hold_limit,
-- no_show, show_cancelled, show_started, not_of_show (seat_ids: the foreign ones),
-- unavailable (seat_ids: the taken ones).
CREATE FUNCTION hold_seats(
  p_user uuid, p_show uuid, p_seats uuid[], p_ttl_seconds integer, p_max_holds integer, p_key text, p_hash text
) RETURNS TABLE (outcome text, booking_id uuid, seat_ids uuid[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_prior_id uuid;
  v_prior_hash text;
  v_locked uuid[];
  v_existing uuid[];
  v_taken uuid[];
  v_status text;
  v_started boolean;
  v_currency text;
  v_id uuid;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('booking-user:' || p_user::text, 0));

  IF p_key IS NOT NULL THEN
    SELECT b.id, b.request_hash INTO v_prior_id, v_prior_hash FROM bookings b WHERE b.user_id = p_user AND b.idempotency_key = p_key;
    IF FOUND THEN
      IF v_prior_hash IS DISTINCT FROM p_hash THEN
        RETURN QUERY SELECT 'key_reused'::text, NULL::uuid, NULL::uuid[];
      ELSE
        RETURN QUERY SELECT 'replayed'::text, v_prior_id, NULL::uuid[];
      END IF;
      RETURN;
    END IF;
  END IF;

  -- Counted after the advisory lock: one user's concurrent holds cannot all pass.
  IF (SELECT count(*) FROM bookings b WHERE b.user_id = p_user AND b.status = 'pending' AND b.expires_at > now()) >= p_max_holds THEN
    RETURN QUERY SELECT 'hold_limit'::text, NULL::uuid, NULL::uuid[];
    RETURN;
  END IF;

  SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') INTO v_locked
    FROM (SELECT ss.id FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats) ORDER BY ss.id FOR UPDATE SKIP LOCKED) s;

  -- Read after the seat locks (a new snapshot per statement): a show cancel, which locks
  -- all the show's seats first, is either wholly before this or wholly after it.
  SELECT sh.status, sh.starts_at <= now(), sh.currency INTO v_status, v_started, v_currency FROM shows sh WHERE sh.id = p_show;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_show'::text, NULL::uuid, NULL::uuid[];
    RETURN;
  END IF;
  IF v_status <> 'scheduled' THEN
    RETURN QUERY SELECT 'show_cancelled'::text, NULL::uuid, NULL::uuid[];
    RETURN;
  END IF;
  IF v_started THEN
    RETURN QUERY SELECT 'show_started'::text, NULL::uuid, NULL::uuid[];
    RETURN;
  END IF;

  IF cardinality(v_locked) < cardinality(p_seats) THEN
    SELECT coalesce(array_agg(ss.id), '{}') INTO v_existing FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats);
    IF cardinality(v_existing) < cardinality(p_seats) THEN
      RETURN QUERY SELECT 'not_of_show'::text, NULL::uuid, ARRAY(SELECT unnest(p_seats) EXCEPT SELECT unnest(v_existing));
    ELSE
      RETURN QUERY SELECT 'unavailable'::text, NULL::uuid, ARRAY(SELECT unnest(p_seats) EXCEPT SELECT unnest(v_locked));
    END IF;
    RETURN;
  END IF;

  -- Lapsed holds on these seats end here (booking rows locked in id order); a booking that
  -- a confirm has locked is waited for, and left alone if it got confirmed.
  WITH lapsed AS (
    SELECT b.id FROM bookings b
     WHERE b.id IN (SELECT bs.booking_id FROM booking_seats bs WHERE bs.show_seat_id = ANY(p_seats) AND bs.booking_status = 'pending')
       AND b.status = 'pending' AND b.expires_at <= now()
     ORDER BY b.id
     FOR UPDATE
  )
  UPDATE bookings b SET status = 'expired', expired_at = now() FROM lapsed WHERE b.id = lapsed.id AND b.status = 'pending';

  SELECT coalesce(array_agg(bs.show_seat_id), '{}') INTO v_taken
    FROM booking_seats bs WHERE bs.show_seat_id = ANY(p_seats) AND bs.booking_status IN ('pending', 'confirmed');
  IF cardinality(v_taken) > 0 THEN
    RETURN QUERY SELECT 'unavailable'::text, NULL::uuid, v_taken;
    RETURN;
  END IF;

  INSERT INTO bookings (user_id, show_id, total, currency, expires_at, idempotency_key, request_hash)
  SELECT p_user, p_show, sum(ss.price), v_currency, now() + make_interval(secs => p_ttl_seconds), p_key, p_hash
    FROM show_seats ss WHERE ss.id = ANY(p_seats)
  RETURNING id INTO v_id;

  INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price)
  SELECT v_id, 'pending', p_show, ss.id, ss.price FROM show_seats ss WHERE ss.id = ANY(p_seats);

  RETURN QUERY SELECT 'held'::text, v_id, p_seats;
END $$;

-- Down Migration
DROP FUNCTION hold_seats(uuid, uuid, uuid[], integer, integer, text, text);
