-- Up Migration

-- Bookings are never deleted; they only change status. (id, status) is unique so that
-- booking_seats can mirror the status through a cascading foreign key.
CREATE TABLE bookings (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id         uuid NOT NULL REFERENCES users (id),
  show_id         uuid NOT NULL REFERENCES shows (id),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired')),
  total           integer NOT NULL CHECK (total >= 0),
  currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  expires_at      timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  confirmed_at    timestamptz,
  cancelled_at    timestamptz,
  expired_at      timestamptz,
  idempotency_key text,
  request_hash    text,
  CONSTRAINT bookings_id_status_key UNIQUE (id, status),
  CONSTRAINT bookings_id_show_key UNIQUE (id, show_id),
  CONSTRAINT bookings_user_idempotency_key UNIQUE (user_id, idempotency_key),
  CONSTRAINT bookings_confirmed_has_time CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL)
);
CREATE INDEX bookings_user_history_idx ON bookings (user_id, created_at DESC, id DESC);
CREATE INDEX bookings_show_history_idx ON bookings (show_id, created_at DESC, id DESC);
CREATE INDEX bookings_pending_expiry_idx ON bookings (expires_at) WHERE status = 'pending';
CREATE INDEX bookings_user_pending_idx ON bookings (user_id) WHERE status = 'pending';

-- The seats of a booking, kept for history. booking_status mirrors bookings.status (ON
-- UPDATE CASCADE), so the partial unique index below is the last line of defence: two
-- bookings that are pending or confirmed can never claim one seat, whatever the code does.
CREATE TABLE booking_seats (
  booking_id     uuid NOT NULL,
  booking_status text NOT NULL,
  show_id        uuid NOT NULL,
  show_seat_id   uuid NOT NULL,
  price          integer NOT NULL CHECK (price >= 0),
  PRIMARY KEY (booking_id, show_seat_id),
  CONSTRAINT booking_seats_booking_status_fk FOREIGN KEY (booking_id, booking_status)
    REFERENCES bookings (id, status) ON UPDATE CASCADE,
  CONSTRAINT booking_seats_booking_show_fk FOREIGN KEY (booking_id, show_id) REFERENCES bookings (id, show_id),
  CONSTRAINT booking_seats_seat_show_fk FOREIGN KEY (show_seat_id, show_id) REFERENCES show_seats (id, show_id)
);
CREATE UNIQUE INDEX booking_seats_one_active_claim ON booking_seats (show_seat_id)
  WHERE booking_status IN ('pending', 'confirmed');
CREATE INDEX booking_seats_show_active_idx ON booking_seats (show_id)
  WHERE booking_status IN ('pending', 'confirmed');

-- The live claims on seats: confirmed ones, and pending ones whose hold has not lapsed. A
-- lapsed hold counts as free at once, whether or not the expiry sweep has run.
CREATE VIEW live_seat_claims AS
SELECT bs.show_seat_id, bs.show_id, bs.booking_id, b.user_id,
       CASE WHEN bs.booking_status = 'confirmed' THEN 'booked' ELSE 'held' END AS status,
       CASE WHEN bs.booking_status = 'pending' THEN b.expires_at END AS hold_expires_at
  FROM booking_seats bs
  JOIN bookings b ON b.id = bs.booking_id
 WHERE bs.booking_status = 'confirmed'
    OR (bs.booking_status = 'pending' AND b.expires_at > now());

-- Every write to booking_seats (through the API, a cascade from bookings, or plain SQL)
-- announces the new status of each seat it touched, per show, in chunks that fit NOTIFY's
-- 8000-byte payload. Delivered on commit only; every server process LISTENs, feeds its
-- seat-map cache and its server-sent-event streams from it.
CREATE FUNCTION notify_seat_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.show_id, json_agg(json_build_object('id', c.show_seat_id, 'status', c.st) ORDER BY c.show_seat_id) AS seats
      FROM (SELECT show_id, show_seat_id,
                   CASE WHEN TG_OP = 'DELETE' THEN 'available'
                        WHEN booking_status = 'pending' THEN 'held'
                        WHEN booking_status = 'confirmed' THEN 'booked'
                        ELSE 'available' END AS st,
                   (row_number() OVER (PARTITION BY show_id ORDER BY show_seat_id) - 1) / 100 AS chunk
              FROM changed_rows) c
     GROUP BY c.show_id, c.chunk
  LOOP
    PERFORM pg_notify('marquee_seats', json_build_object('showId', r.show_id, 'seats', r.seats)::text);
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER booking_seats_changed_insert AFTER INSERT ON booking_seats
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_seat_changes();
CREATE TRIGGER booking_seats_changed_update AFTER UPDATE ON booking_seats
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_seat_changes();
CREATE TRIGGER booking_seats_changed_delete AFTER DELETE ON booking_seats
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_seat_changes();

-- At most one successful charge per booking. A charge that cannot be kept (it arrived after
-- the hold lapsed, or twice) is recorded as refund_pending, never as a second success.
CREATE TABLE payments (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  booking_id     uuid NOT NULL REFERENCES bookings (id),
  provider       text NOT NULL,
  provider_ref   text,
  kind           text NOT NULL DEFAULT 'charge' CHECK (kind IN ('charge', 'webhook')),
  status         text NOT NULL CHECK (status IN ('succeeded', 'failed', 'refund_pending', 'refunded')),
  amount         integer NOT NULL CHECK (amount >= 0),
  currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  failure_reason text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payments_one_success_per_booking ON payments (booking_id) WHERE status = 'succeeded';
CREATE INDEX payments_booking_idx ON payments (booking_id, created_at DESC);
CREATE INDEX payments_refund_pending_idx ON payments (id) WHERE status = 'refund_pending';

-- Provider callbacks already handled: the same event id twice changes nothing.
CREATE TABLE webhook_events (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  booking_id  uuid,
  outcome     text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TRIGGER booking_seats_changed_insert ON booking_seats;
DROP TRIGGER booking_seats_changed_update ON booking_seats;
DROP TRIGGER booking_seats_changed_delete ON booking_seats;
DROP FUNCTION notify_seat_changes();
DROP VIEW live_seat_claims;
DROP TABLE webhook_events;
DROP TABLE payments;
DROP TABLE booking_seats;
DROP TABLE bookings;
