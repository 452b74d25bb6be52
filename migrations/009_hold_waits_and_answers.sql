-- Up Migration

-- Issue #9: the hold tells the truth and answers in one round trip (ADR 0014, superseding
-- ADR 0010).
--
-- 1. Truthful 409s. Up to 008 hold_seats() locked its seats FOR UPDATE SKIP LOCKED and
--    answered 409 SEATS_UNAVAILABLE naming every seat another transaction had merely
--    locked. When that transaction then failed (it lost another seat, or timed out), the 409
--    had named seats nobody held, and in a rush such seats stayed unsold while buyers had
--    been told they were taken. Now a 409 names only seats that a committed booking holds
--    (pending and not lapsed) or has bought:
--      a. what is already decided is answered without any lock (step 4): seats a committed
--         booking claims, a cancelled or started show, seats not of the show. In a rush most
--         losers ask for seats sold moments ago; they answer at once, read-only (no row
--         lock, so no transaction id and no commit flush);
--      b. the rest waits for the seat locks, in ascending id order, with a bounded wait
--         (p_lock_wait_ms, set as this transaction's lock_timeout for that one statement).
--         A seat lock is held by another hold for the rest of its single statement (well
--         under a millisecond of work plus its commit), by a show cancel, or by a hold that
--         itself waits; once it is ours, the claims read by the next statement are
--         committed ones. A wait past the bound raises SQLSTATE 55P03, which the API
--         answers 503 with Retry-After (never a 409 it cannot back).
-- 2. One round trip. Every outcome that answers with a booking (held, replayed) returns the
--    API's booking document, built here by booking_document() exactly as BookingDto is,
--    so the server sends no second query.
--
-- Lock order, unchanged and the same on every path (docs/ARCHITECTURE.md, "Why these
-- cannot deadlock"): the per-user advisory lock → show_seats rows in ascending id order →
-- booking rows in ascending id order. Now that holds wait on seat locks again, the order is
-- what keeps two holds from waiting on each other in a circle (src/features/bookings/
-- hold-truth.test.ts fails if it is reversed).
--
-- Outcomes: held and replayed (booking: the document), key_reused, hold_limit, no_show,
-- show_cancelled, show_started, not_of_show (seat_ids: the foreign ones), unavailable
-- (seat_ids: seats committed bookings hold or have bought), seat_limit (user_seats),
-- rehold_cooldown (seat_ids, retry_after).
DROP FUNCTION hold_seats(uuid, uuid, uuid[], integer, integer, integer, integer, text, text);

-- A timestamp as JavaScript's Date#toISOString writes it (UTC, milliseconds truncated, as the
-- pg driver truncates microseconds). Inlined by the planner (one STABLE expression).
CREATE FUNCTION api_timestamp(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

-- The booking as the API answers it (bookingSchema in src/features/bookings/schemas.ts, the
-- same keys in the same order as toDto in service.ts builds from the booking view): the
-- effective status (a lapsed pending booking reads as expired), the seats in row order, the
-- latest payment that did not fail (else the latest failed one), the show. NULL for an
-- unknown id. plpgsql so that its plan is cached per connection.
CREATE FUNCTION booking_document(p_id uuid) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    SELECT json_build_object(
             'id', b.id,
             'userId', b.user_id,
             'showId', b.show_id,
             'status', CASE WHEN b.status = 'pending' AND b.expires_at <= now() THEN 'expired' ELSE b.status END,
             'seats', st.seats,
             'total', b.total,
             'currency', b.currency,
             'expiresAt', api_timestamp(b.expires_at),
             'createdAt', api_timestamp(b.created_at),
             'confirmedAt', api_timestamp(b.confirmed_at),
             'cancelledAt', api_timestamp(b.cancelled_at),
             'payment', CASE WHEN p.id IS NULL THEN NULL ELSE json_build_object(
                          'id', p.id,
                          'provider', coalesce(p.provider, ''),
                          'status', coalesce(p.status, 'failed'),
                          'amount', coalesce(p.amount, 0),
                          'currency', coalesce(p.currency, b.currency),
                          'createdAt', api_timestamp(coalesce(p.created_at, b.created_at))) END,
             'show', json_build_object(
                       'startsAt', api_timestamp(s.starts_at),
                       'movie', json_build_object('id', m.id, 'title', m.title),
                       'theatre', json_build_object('id', t.id, 'name', t.name, 'city', t.city),
                       'screen', json_build_object('id', sc.id, 'name', sc.name)))
      FROM bookings b
      JOIN shows s ON s.id = b.show_id
      JOIN movies m ON m.id = s.movie_id
      JOIN theatres t ON t.id = s.theatre_id
      JOIN screens sc ON sc.id = s.screen_id
      LEFT JOIN LATERAL (
        SELECT p.id, p.provider, p.status, p.amount, p.currency, p.created_at FROM payments p
         WHERE p.booking_id = b.id AND p.status <> 'processing' -- an open charge attempt (008) is no payment yet
         ORDER BY (p.status <> 'failed') DESC, p.created_at DESC LIMIT 1
      ) p ON true
      CROSS JOIN LATERAL (
        SELECT coalesce(json_agg(json_build_object('id', ss.id, 'row', ss.row_label, 'number', ss.number, 'category', ss.category, 'price', bs.price)
                        ORDER BY ss.row_index, ss.number), '[]') AS seats
          FROM booking_seats bs JOIN show_seats ss ON ss.id = bs.show_seat_id
         WHERE bs.booking_id = b.id
      ) st
     WHERE b.id = p_id);
END $$;

-- p_lock_wait_ms: how long the hold waits for the seat locks (> 0); the session's
-- lock_timeout (DB_LOCK_TIMEOUT_MS) still bounds the other waits (advisory lock, lapsed
-- bookings).
CREATE FUNCTION hold_seats(
  p_user uuid, p_show uuid, p_seats uuid[], p_ttl_seconds integer, p_max_holds integer,
  p_max_seats integer, p_cooldown_seconds integer, p_key text, p_hash text, p_lock_wait_ms integer
) RETURNS TABLE (outcome text, seat_ids uuid[], retry_after integer, user_seats integer, booking json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_prior_id uuid;
  v_prior_hash text;
  v_found integer;
  v_locked uuid[];
  v_taken uuid[];
  v_status text;
  v_started boolean;
  v_currency text;
  v_user_seats integer;
  v_cooling uuid[];
  v_released timestamptz;
  v_lock_timeout text;
  v_id uuid;
BEGIN
  -- 1. Everything below that counts this user's bookings runs under this lock: one user's
  -- concurrent holds are decided one after the other and cannot all pass a limit.
  PERFORM pg_advisory_xact_lock(hashtextextended('booking-user:' || p_user::text, 0));

  -- 2. Idempotency: the same key and body answer the first booking (as it is now).
  IF p_key IS NOT NULL THEN
    SELECT b.id, b.request_hash INTO v_prior_id, v_prior_hash FROM bookings b WHERE b.user_id = p_user AND b.idempotency_key = p_key;
    IF FOUND THEN
      IF v_prior_hash IS DISTINCT FROM p_hash THEN
        RETURN QUERY SELECT 'key_reused'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
      ELSE
        RETURN QUERY SELECT 'replayed'::text, NULL::uuid[], NULL::integer, NULL::integer, booking_document(v_prior_id);
      END IF;
      RETURN;
    END IF;
  END IF;

  -- 3. The hold limit.
  IF (SELECT count(*) FROM bookings b WHERE b.user_id = p_user AND b.status = 'pending' AND b.expires_at > now()) >= p_max_holds THEN
    RETURN QUERY SELECT 'hold_limit'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;

  -- 4. What committed transactions already decided, read without locks. Every answer here is
  -- the truth as of this statement's snapshot: a cancelled or started show, seats that are not
  -- the show's (show_seats rows are never deleted), seats a committed booking holds or has
  -- bought (a lapsed hold counts as free: step 7 ends it).
  SELECT sh.status, sh.starts_at <= now() INTO v_status, v_started FROM shows sh WHERE sh.id = p_show;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'no_show'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  IF v_status <> 'scheduled' THEN
    RETURN QUERY SELECT 'show_cancelled'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  IF v_started THEN
    RETURN QUERY SELECT 'show_started'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  SELECT count(*)::integer,
         coalesce(array_agg(ss.id) FILTER (WHERE EXISTS (
           SELECT 1 FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
            WHERE bs.show_seat_id = ss.id AND bs.booking_status IN ('pending', 'confirmed')
              AND (bs.booking_status = 'confirmed' OR b.expires_at > now()))), '{}')
    INTO v_found, v_taken
    FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats);
  IF v_found < cardinality(p_seats) THEN
    RETURN QUERY SELECT 'not_of_show'::text,
      ARRAY(SELECT unnest(p_seats) EXCEPT SELECT ss.id FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats)),
      NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  IF cardinality(v_taken) > 0 THEN
    RETURN QUERY SELECT 'unavailable'::text, v_taken, NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;

  -- 5. The seat locks, in ascending id order, waiting at most p_lock_wait_ms for a seat
  -- another transaction is claiming (then 55P03: the API answers 503 with Retry-After).
  -- lock_timeout is read when a wait starts, so the bound applies to this statement only.
  v_lock_timeout := current_setting('lock_timeout');
  PERFORM set_config('lock_timeout', p_lock_wait_ms::text || 'ms', true);
  SELECT coalesce(array_agg(s.id ORDER BY s.id), '{}') INTO v_locked
    FROM (SELECT ss.id FROM show_seats ss WHERE ss.show_id = p_show AND ss.id = ANY(p_seats) ORDER BY ss.id FOR UPDATE) s;
  PERFORM set_config('lock_timeout', v_lock_timeout, true);

  -- 6. The show again, after the seat locks (a new snapshot per statement): a show cancel,
  -- which locks all the show's seats first, is either wholly before this or wholly after it.
  SELECT sh.status, sh.starts_at <= now(), sh.currency INTO v_status, v_started, v_currency FROM shows sh WHERE sh.id = p_show;
  IF v_status <> 'scheduled' THEN
    RETURN QUERY SELECT 'show_cancelled'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  IF v_started THEN
    RETURN QUERY SELECT 'show_started'::text, NULL::uuid[], NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;
  IF cardinality(v_locked) < cardinality(p_seats) THEN -- not reached (step 4), kept as a guard
    RETURN QUERY SELECT 'not_of_show'::text, ARRAY(SELECT unnest(p_seats) EXCEPT SELECT unnest(v_locked)), NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;

  -- 7. Lapsed holds on these seats end here (booking rows locked in id order); a booking that
  -- a confirm has locked is waited for, and left alone if it got confirmed.
  WITH lapsed AS (
    SELECT b.id FROM bookings b
     WHERE b.id IN (SELECT bs.booking_id FROM booking_seats bs WHERE bs.show_seat_id = ANY(p_seats) AND bs.booking_status = 'pending')
       AND b.status = 'pending' AND b.expires_at <= now()
     ORDER BY b.id
     FOR UPDATE
  )
  UPDATE bookings b SET status = 'expired', expired_at = now() FROM lapsed WHERE b.id = lapsed.id AND b.status = 'pending';

  -- 8. The claims left on these seats. Every claim is made under the seat locks we now hold,
  -- so each one read here was committed by its hold before we got the lock: the truth.
  SELECT coalesce(array_agg(bs.show_seat_id), '{}') INTO v_taken
    FROM booking_seats bs WHERE bs.show_seat_id = ANY(p_seats) AND bs.booking_status IN ('pending', 'confirmed');
  IF cardinality(v_taken) > 0 THEN
    RETURN QUERY SELECT 'unavailable'::text, v_taken, NULL::integer, NULL::integer, NULL::json;
    RETURN;
  END IF;

  -- 9. The seats are free; may this user have them? Seats this user holds (live holds) or has
  -- bought in this show, plus these, may not pass p_max_seats (0: no cap). Only this user's
  -- own requests can raise that count, and they wait for the advisory lock above.
  IF p_max_seats > 0 THEN
    SELECT count(*)::integer INTO v_user_seats
      FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
     WHERE b.user_id = p_user AND b.show_id = p_show
       AND (b.status = 'confirmed' OR (b.status = 'pending' AND b.expires_at > now()));
    IF v_user_seats + cardinality(p_seats) > p_max_seats THEN
      RETURN QUERY SELECT 'seat_limit'::text, NULL::uuid[], NULL::integer, v_user_seats, NULL::json;
      RETURN;
    END IF;
  END IF;

  -- 10. Re-hold cool-down (0: none): seats this user released (cancelled while pending, or let
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
      RETURN QUERY SELECT 'rehold_cooldown'::text, v_cooling,
        greatest(1, ceil(extract(epoch FROM v_released + make_interval(secs => p_cooldown_seconds) - now())))::integer, NULL::integer, NULL::json;
      RETURN;
    END IF;
  END IF;

  -- 11. The claim, and the answer: the booking document.
  INSERT INTO bookings (user_id, show_id, total, currency, expires_at, idempotency_key, request_hash)
  SELECT p_user, p_show, sum(ss.price), v_currency, now() + make_interval(secs => p_ttl_seconds), p_key, p_hash
    FROM show_seats ss WHERE ss.id = ANY(p_seats)
  RETURNING id INTO v_id;

  INSERT INTO booking_seats (booking_id, booking_status, show_id, show_seat_id, price)
  SELECT v_id, 'pending', p_show, ss.id, ss.price FROM show_seats ss WHERE ss.id = ANY(p_seats);

  RETURN QUERY SELECT 'held'::text, p_seats, NULL::integer, NULL::integer, booking_document(v_id);
END $$;

-- Down Migration
DROP FUNCTION hold_seats(uuid, uuid, uuid[], integer, integer, integer, integer, text, text, integer);
DROP FUNCTION booking_document(uuid);
DROP FUNCTION api_timestamp(timestamptz);
-- Back to the 006 version (FOR UPDATE SKIP LOCKED, the booking read by a second query).
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
