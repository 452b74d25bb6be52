-- Up Migration

-- Seat hoarding (issue #10, item 7): hold_seats() gains two limits, both decided inside the
-- hold transaction under the per-user advisory lock it already takes, so one user's
-- concurrent requests cannot slip past them:
--   p_max_seats (MAX_SEATS_PER_USER_PER_SHOW): seats one user holds or has bought in one
--     show, plus the requested ones, may not exceed it → outcome seat_limit (user_seats:
--     the seats they already have there);
--   p_cooldown_seconds (REHOLD_COOLDOWN_SECONDS): a user who cancelled a pending booking
--     or let it lapse cannot hold any of those seats again until that long after the
--     release → outcome rehold_cooldown (seat_ids: those seats; retry_after: seconds left).
-- 0 turns either off. Outcomes otherwise as in 004: held, replayed, key_reused, hold_limit,
-- no_show, show_cancelled, show_started, not_of_show, unavailable.
DROP FUNCTION hold_seats(uuid, uuid, uuid[], integer, integer, text, text);

-- Both checks read one user's bookings of one show.
CREATE INDEX bookings_user_show_idx ON bookings (user_id, show_id);

CREATE FUNCTION hold_seats(
  p_user uuid, p_show uuid, p_seats uuid[], p_ttl_seconds integer, p_max_holds integer,
  p_max_seats integer, p_cooldown_seconds integer, p_key text, p_hash text
) RETURNS TABLE (outcome text, booking_id uuid, seat_ids uuid[], retry_after integer, user_seats integer)
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
  v_user_seats integer;
  v_cooling uuid[];
  v_released timestamptz;
  v_id uuid;
BEGIN
  -- Everything below that counts this user's bookings runs under this lock: one user's
  -- concurrent holds are decided one after the other and cannot all pass a limit.
  PERFORM pg_advisory_xact_lock(hashtextextended('booking-user:' || p_user::text, 0));

  IF p_key IS NOT NULL THEN
    SELECT b.id, b.request_hash INTO v_prior_id, v_prior_hash FROM bookings b WHERE b.user_id = p_user AND b.idempotency_key = p_key;
    IF FOUND THEN
      IF v_prior_hash IS DISTINCT FROM p_hash THEN
        RETURN QUERY SELECT 'key_reused'::text, NULL::uuid, NULL::uuid[], NULL::integer, NULL::integer;
      ELSE
        RETURN QUERY SELECT 'replayed'::text, v_prior_id, NULL::uuid[], NULL::integer, NULL::integer;
      END IF;
      RETURN;
    END IF;
  END IF;

  IF (SELECT count(*) FROM bookings b WHERE b.user_id = p_user AND b.status = 'pending' AND b.expires_at > now()) >= p_max_holds THEN
    RETURN QUERY SELECT 'hold_limit'::text, NULL::uuid, NULL::uuid[], NULL::integer, NULL::integer;
    RETURN;
  END IF;

  SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') INTO v_locked
    FROM (SELECT ss.id FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats) ORDER BY ss.id FOR UPDATE SKIP LOCKED) s;

  -- Read after the seat locks (a new snapshot per statement): a show cancel, which locks
  -- all the show's seats first, is either wholly before this or wholly after it.
  SELECT sh.status, sh.starts_at <= now(), sh.currency INTO v_status, v_started, v_currency FROM shows sh WHERE sh.id = p_show;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_show'::text, NULL::uuid, NULL::uuid[], NULL::integer, NULL::integer;
    RETURN;
  END IF;
  IF v_status <> 'scheduled' THEN
    RETURN QUERY SELECT 'show_cancelled'::text, NULL::uuid, NULL::uuid[], NULL::integer, NULL::integer;
    RETURN;
  END IF;
  IF v_started THEN
    RETURN QUERY SELECT 'show_started'::text, NULL::uuid, NULL::uuid[], NULL::integer, NULL::integer;
    RETURN;
  END IF;

  IF cardinality(v_locked) < cardinality(p_seats) THEN
    SELECT coalesce(array_agg(ss.id), '{}') INTO v_existing FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats);
    IF cardinality(v_existing) < cardinality(p_seats) THEN
      RETURN QUERY SELECT 'not_of_show'::text, NULL::uuid, ARRAY(SELECT unnest(p_seats) EXCEPT SELECT unnest(v_existing)), NULL::integer, NULL::integer;
    ELSE
      RETURN QUERY SELECT 'unavailable'::text, NULL::uuid, ARRAY(SELECT unnest(p_seats) EXCEPT SELECT unnest(v_locked)), NULL::integer, NULL::integer;
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
    RETURN QUERY SELECT 'unavailable'::text, NULL::uuid, v_taken, NULL::integer, NULL::integer;
    RETURN;
  END IF;

  -- The seats are free; may this user have them? Seats this user holds (live holds) or has
  -- bought in this show, plus these, may not pass p_max_seats (0: no cap). Only this user's
  -- own requests can raise that count, and they wait for the advisory lock above.
  IF p_max_seats > 0 THEN
    SELECT count(*)::integer INTO v_user_seats
      FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
     WHERE b.user_id = p_user AND b.show_id = p_show
       AND (b.status = 'confirmed' OR (b.status = 'pending' AND b.expires_at > now()));
    IF v_user_seats + cardinality(p_seats) > p_max_seats THEN
      RETURN QUERY SELECT 'seat_limit'::text, NULL::uuid, NULL::uuid[], NULL::integer, v_user_seats;
      RETURN;
    END IF;
  END IF;

  -- Re-hold cool-down (0: none): seats this user released (cancelled while pending, or let
  -- lapse) less than p_cooldown_seconds ago are not theirs to hold again yet; anyone else
  -- may hold them at once. A release is a cancel's cancelled_at or a hold's expires_at,
  -- whether or not the sweep has marked it expired. Checked after the seats were found
  -- free, by a later statement (a newer snapshot): a cancel that committed in between, and
  -- so freed them, is seen here.
  IF p_cooldown_seconds > 0 THEN
    SELECT coalesce(array_agg(DISTINCT r.show_seat_id), '{}'), max(r.released) INTO v_cooling, v_released
      FROM (SELECT bs.show_seat_id, CASE WHEN b.status = 'cancelled' THEN b.cancelled_at ELSE b.expires_at END AS released
              FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
             WHERE b.user_id = p_user AND b.show_id = p_show AND bs.show_seat_id = ANY(p_seats)
               AND ((b.status = 'cancelled' AND b.confirmed_at IS NULL)
                    OR b.status = 'expired'
                    OR (b.status = 'pending' AND b.expires_at <= now()))) r
     WHERE r.released > now() - make_interval(secs => p_cooldown_seconds);
    IF cardinality(v_cooling) > 0 THEN
      RETURN QUERY SELECT 'rehold_cooldown'::text, NULL::uuid, v_cooling,
        greatest(1, ceil(extract(epoch FROM v_released + make_interval(secs => p_cooldown_seconds) - now())))::integer, NULL::integer;
      RETURN;
    END IF;
  END IF;

  INSERT INTO bookings (user_id, show_id, total, currency, expires_at, idempotency_key, request_hash)
  SELECT p_user, p_show, sum(ss.price), v_currency, now() + make_interval(secs => p_ttl_seconds), p_key, p_hash
    FROM show_seats ss WHERE ss.id = ANY(p_seats)
  RETURNING id INTO v_id;

  INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price)
  SELECT v_id, 'pending', p_show, ss.id, ss.price FROM show_seats ss WHERE ss.id = ANY(p_seats);

  RETURN QUERY SELECT 'held'::text, v_id, p_seats, NULL::integer, NULL::integer;
END $$;

-- Down Migration
DROP FUNCTION hold_seats(uuid, uuid, uuid[], integer, integer, integer, integer, text, text);
DROP INDEX bookings_user_show_idx;

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
