-- Up Migration

-- Issue #12: tickets, and check-in at the door.
--
-- 1. One ticket per seat of a confirmed booking, issued by the database itself: a trigger on
--    bookings fires when a booking's status becomes 'confirmed', whichever path confirms it
--    (payment_apply from a confirm, payment_webhook, the sweep settling a late charge), so no
--    write path can forget to issue them. Tickets are never deleted: a cancelled booking keeps
--    its tickets, which read as void (the status is derived from the booking's, never stored
--    twice). The ticket code the API shows is computed by the server from the ticket id and a
--    secret key (src/features/tickets/codes.ts); nothing here knows the key.
-- 2. No double ticket, no double check-in, whatever the code does:
--    - unique (booking_id, show_seat_id), and a foreign key to booking_seats: a ticket is for
--      a seat of its booking, once;
--    - tickets_check_in_once (a trigger): checked_in_at is set once and never changed or
--      cleared, and only while the booking is confirmed;
--    - ticket_check_in() sets it with UPDATE … WHERE checked_in_at IS NULL: of two scans at
--      once, the second waits for the first's row lock, re-reads the row, finds it checked in
--      and answers already_checked_in with the first scan's time.
-- 3. A checked-in ticket cannot be cancelled or refunded: booking_cancel() (008) gains the
--    outcome checked_in. A cancel and a check-in of one booking are serialised on the booking
--    row: booking_cancel locks it FOR UPDATE, ticket_check_in FOR SHARE, each before reading
--    anything it decides on. Whichever gets the lock second sees what the first committed: a
--    check-in after a cancel finds the booking cancelled (void); a cancel after a check-in
--    finds the ticket checked in (refused). So no cancelled booking ever has a checked-in
--    ticket from a customer's cancel. (A show cancelled by an admin still cancels every
--    booking of it, checked in or not: the tickets then read void and keep their checkedInAt.)
-- 4. booking_document() (009) gains `tickets` (after `seats`, as toDto builds it), without
--    the codes: the server adds each ticket's code before it answers.
--
-- Lock order (docs/ARCHITECTURE.md, "Why these cannot deadlock"): … → booking rows → ticket
-- rows. The issuing trigger runs under the confirming statement's booking row lock; a
-- check-in takes the booking row (FOR SHARE) before its ticket row; nothing locks a ticket
-- and then a booking.

CREATE TABLE tickets (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  booking_id    uuid NOT NULL,
  show_seat_id  uuid NOT NULL,
  show_id       uuid NOT NULL,
  issued_at     timestamptz NOT NULL DEFAULT now(),
  checked_in_at timestamptz,
  checked_in_by uuid REFERENCES users (id),
  CONSTRAINT tickets_one_per_seat UNIQUE (booking_id, show_seat_id),
  CONSTRAINT tickets_seat_of_booking_fk FOREIGN KEY (booking_id, show_seat_id) REFERENCES booking_seats (booking_id, show_seat_id),
  CONSTRAINT tickets_show_of_booking_fk FOREIGN KEY (booking_id, show_id) REFERENCES bookings (id, show_id),
  CONSTRAINT tickets_check_in_complete CHECK ((checked_in_at IS NULL) = (checked_in_by IS NULL))
);
-- No foreign key to show_seats: booking_seats already ties the seat to the show, and checking
-- one would take a key-share lock on the seat row while the confirm holds the booking row,
-- the reverse of a hold's order (seat rows, then lapsed bookings): a hold and a late confirm
-- of the same seat would wait on each other.
COMMENT ON TABLE tickets IS 'One per seat of a confirmed booking (issued by bookings_issue_tickets); never deleted: a cancelled booking''s tickets read as void';
COMMENT ON COLUMN tickets.checked_in_at IS 'The first (and only) scan at the door; set once (tickets_check_in_once)';
COMMENT ON COLUMN tickets.checked_in_by IS 'The staff member or admin who scanned it';

-- Issues the tickets of a booking that has just become confirmed: one per seat it claims.
-- ON CONFLICT: a booking confirmed again (never, today) would not get a second set.
CREATE FUNCTION tickets_issue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tickets (booking_id, show_seat_id, show_id)
  SELECT bs.booking_id, bs.show_seat_id, bs.show_id FROM booking_seats bs WHERE bs.booking_id = NEW.id
  ON CONFLICT ON CONSTRAINT tickets_one_per_seat DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER bookings_issue_tickets AFTER UPDATE OF status ON bookings
  FOR EACH ROW WHEN (NEW.status = 'confirmed' AND OLD.status IS DISTINCT FROM 'confirmed')
  EXECUTE FUNCTION tickets_issue();

-- A ticket is what it was issued as; only checked_in_at/by change, once, from NULL, and
-- only on a confirmed booking. SQLSTATE 23514 (check_violation): the API never reaches it
-- (ticket_check_in decides first, under the booking lock); it is the last line of defence.
CREATE FUNCTION tickets_check_in_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.booking_id <> OLD.booking_id OR NEW.show_seat_id <> OLD.show_seat_id
     OR NEW.show_id <> OLD.show_id OR NEW.issued_at <> OLD.issued_at THEN
    RAISE EXCEPTION 'ticket % cannot change what it was issued for', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.checked_in_at IS NOT NULL
     AND (NEW.checked_in_at IS DISTINCT FROM OLD.checked_in_at OR NEW.checked_in_by IS DISTINCT FROM OLD.checked_in_by) THEN
    RAISE EXCEPTION 'ticket % was checked in already', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.checked_in_at IS NULL AND NEW.checked_in_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.id = NEW.booking_id AND b.status = 'confirmed') THEN
    RAISE EXCEPTION 'ticket % is void: its booking is not confirmed', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER tickets_check_in_once BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_check_in_once();

-- Bookings confirmed before this migration get their tickets too (a cancelled one that had
-- been confirmed keeps void tickets, as if it had been cancelled after this migration).
INSERT INTO tickets (booking_id, show_seat_id, show_id, issued_at)
SELECT bs.booking_id, bs.show_seat_id, bs.show_id, b.confirmed_at
  FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
 WHERE b.confirmed_at IS NOT NULL;

-- A ticket as the API shows it, without its code (the server adds it): the status read from
-- the booking's (not confirmed: void) and the ticket's own check-in.
CREATE FUNCTION ticket_status(p_booking_status text, p_checked_in_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_booking_status <> 'confirmed' THEN 'void' WHEN p_checked_in_at IS NOT NULL THEN 'checked_in' ELSE 'valid' END
$$;

-- 009's booking_document with `tickets` after `seats`, in the order of the seats (row, number).
CREATE OR REPLACE FUNCTION booking_document(p_id uuid) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (
    SELECT json_build_object(
             'id', b.id,
             'userId', b.user_id,
             'showId', b.show_id,
             'status', CASE WHEN b.status = 'pending' AND b.expires_at <= now() THEN 'expired' ELSE b.status END,
             'seats', st.seats,
             'tickets', tk.tickets,
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
      CROSS JOIN LATERAL (
        SELECT coalesce(json_agg(json_build_object('id', tk.id, 'seatId', tk.show_seat_id, 'status', ticket_status(b.status, tk.checked_in_at),
                                                   'checkedInAt', api_timestamp(tk.checked_in_at))
                        ORDER BY ss.row_index, ss.number), '[]') AS tickets
          FROM tickets tk JOIN show_seats ss ON ss.id = tk.show_seat_id
         WHERE tk.booking_id = b.id
      ) tk
     WHERE b.id = p_id);
END $$;

-- 008's booking_cancel, refusing (outcome checked_in) a booking with a checked-in ticket:
-- those seats were used; the money is not given back. Read under the booking row lock, which
-- every check-in of this booking's tickets takes (FOR SHARE) before it sets checked_in_at.
CREATE OR REPLACE FUNCTION booking_cancel(p_booking uuid, p_user uuid, p_admin boolean)
RETURNS TABLE (outcome text, show_id uuid, refund boolean, booking json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b record;
  v_refund boolean := false;
BEGIN
  SELECT bk.id, bk.user_id, bk.show_id, bk.status, bk.expires_at <= now() AS lapsed, s.starts_at <= now() AS show_started
    INTO b FROM bookings bk JOIN shows s ON s.id = bk.show_id WHERE bk.id = p_booking FOR UPDATE OF bk;
  IF NOT FOUND OR (b.user_id <> p_user AND NOT p_admin) THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  IF b.status = 'cancelled' THEN
    RETURN QUERY SELECT 'unchanged'::text, NULL::uuid, false, booking_document(p_booking);
    RETURN;
  END IF;
  IF b.status = 'expired' OR (b.status = 'pending' AND b.lapsed) THEN
    RETURN QUERY SELECT 'expired'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM tickets tk WHERE tk.booking_id = p_booking AND tk.checked_in_at IS NOT NULL) THEN
    RETURN QUERY SELECT 'checked_in'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  IF b.show_started THEN
    RETURN QUERY SELECT 'started'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = p_booking;
  IF b.status = 'confirmed' THEN
    UPDATE payments SET status = 'refund_pending', updated_at = now() WHERE booking_id = p_booking AND status = 'succeeded';
    v_refund := FOUND;
  END IF;
  RETURN QUERY SELECT 'cancelled'::text, b.show_id, v_refund, booking_document(p_booking);
END $$;

-- POST /tickets/check-in (one round trip). p_show: the show the door admits to (NULL: any);
-- p_staff: who scans. Outcomes: checked_in (this call set checked_in_at), already_checked_in
-- (checked_in_at: the first scan's), void (the booking is not confirmed: cancelled),
-- wrong_show (show: the ticket's), not_found. Every outcome but not_found carries the
-- ticket (without its code), seat, show and holder, as the API answers a check-in.
CREATE FUNCTION ticket_check_in(p_ticket uuid, p_show uuid, p_staff uuid)
RETURNS TABLE (outcome text, ticket json, seat json, show json, holder json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_booking uuid;
  b record;
  v_outcome text;
BEGIN
  SELECT tk.booking_id INTO v_booking FROM tickets tk WHERE tk.id = p_ticket;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::json, NULL::json, NULL::json, NULL::json;
    RETURN;
  END IF;
  -- The booking row first (the lock order: booking → ticket), FOR SHARE: concurrent
  -- check-ins of its tickets do not queue on each other here, but a cancel (FOR UPDATE)
  -- waits for this one to commit, and this one for a cancel in flight.
  SELECT bk.status, bk.show_id INTO b FROM bookings bk WHERE bk.id = v_booking FOR SHARE;
  IF b.status <> 'confirmed' THEN
    v_outcome := 'void';
  ELSIF p_show IS NOT NULL AND b.show_id <> p_show THEN
    v_outcome := 'wrong_show';
  ELSE
    -- Of two scans at once, the second waits for this row's lock, re-reads the row and
    -- updates nothing: exactly one checked_in.
    UPDATE tickets SET checked_in_at = now(), checked_in_by = p_staff WHERE id = p_ticket AND checked_in_at IS NULL;
    v_outcome := CASE WHEN FOUND THEN 'checked_in' ELSE 'already_checked_in' END;
  END IF;
  -- A new statement, a new snapshot: the first scan's time, if another scan won.
  RETURN QUERY
  SELECT v_outcome,
         json_build_object('id', tk.id, 'seatId', tk.show_seat_id, 'status', ticket_status(b.status, tk.checked_in_at),
                           'checkedInAt', api_timestamp(tk.checked_in_at)),
         json_build_object('id', ss.id, 'row', ss.row_label, 'number', ss.number, 'category', ss.category),
         json_build_object('id', s.id, 'startsAt', api_timestamp(s.starts_at),
                           'movie', json_build_object('id', m.id, 'title', m.title),
                           'theatre', json_build_object('id', t.id, 'name', t.name, 'city', t.city),
                           'screen', json_build_object('id', sc.id, 'name', sc.name)),
         json_build_object('name', u.name)
    FROM tickets tk
    JOIN show_seats ss ON ss.id = tk.show_seat_id
    JOIN bookings bk ON bk.id = tk.booking_id
    JOIN users u ON u.id = bk.user_id
    JOIN shows s ON s.id = tk.show_id
    JOIN movies m ON m.id = s.movie_id
    JOIN theatres t ON t.id = s.theatre_id
    JOIN screens sc ON sc.id = s.screen_id
   WHERE tk.id = p_ticket;
END $$;

-- Down Migration
DROP FUNCTION ticket_check_in(uuid, uuid, uuid);
-- booking_cancel and booking_document as 008 and 009 left them.
CREATE OR REPLACE FUNCTION booking_cancel(p_booking uuid, p_user uuid, p_admin boolean)
RETURNS TABLE (outcome text, show_id uuid, refund boolean, booking json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b record;
  v_refund boolean := false;
BEGIN
  SELECT bk.id, bk.user_id, bk.show_id, bk.status, bk.expires_at <= now() AS lapsed, s.starts_at <= now() AS show_started
    INTO b FROM bookings bk JOIN shows s ON s.id = bk.show_id WHERE bk.id = p_booking FOR UPDATE OF bk;
  IF NOT FOUND OR (b.user_id <> p_user AND NOT p_admin) THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  IF b.status = 'cancelled' THEN
    RETURN QUERY SELECT 'unchanged'::text, NULL::uuid, false, booking_document(p_booking);
    RETURN;
  END IF;
  IF b.status = 'expired' OR (b.status = 'pending' AND b.lapsed) THEN
    RETURN QUERY SELECT 'expired'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  IF b.show_started THEN
    RETURN QUERY SELECT 'started'::text, NULL::uuid, false, NULL::json;
    RETURN;
  END IF;
  UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = p_booking;
  IF b.status = 'confirmed' THEN
    UPDATE payments SET status = 'refund_pending', updated_at = now() WHERE booking_id = p_booking AND status = 'succeeded';
    v_refund := FOUND;
  END IF;
  RETURN QUERY SELECT 'cancelled'::text, b.show_id, v_refund, booking_document(p_booking);
END $$;
CREATE OR REPLACE FUNCTION booking_document(p_id uuid) RETURNS json
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
DROP FUNCTION ticket_status(text, timestamptz);
DROP TRIGGER tickets_check_in_once ON tickets;
DROP FUNCTION tickets_check_in_once();
DROP TRIGGER bookings_issue_tickets ON bookings;
DROP FUNCTION tickets_issue();
DROP TABLE tickets;
