-- Up Migration

-- Issue #9: no database connection or row lock is held across a call to the payment
-- provider (ADR 0013, superseding ADR 0007; refunds as in ADR 0008 but leased).
--
-- A confirm is now three steps, none of them waiting on the network while it holds anything:
--   1. payment_begin(): one statement locks the booking row for microseconds, checks it and
--      records the charge attempt as a `processing` payment whose charge_key is the
--      provider's idempotency key. Concurrent confirms of one booking share the one open
--      attempt (payments_one_open_attempt), so they share its key.
--   2. the provider call, outside any transaction, bounded by PAYMENT_TIMEOUT_MS.
--   3. payment_settle(): one statement locks the booking row again and applies the answer:
--      kept (payment succeeded, booking confirmed), declined (failed, the hold stays) or
--      charged but not keepable (refund_pending: the booking lapsed and was expired, was
--      cancelled, or got paid by another path), and returns the booking document.
-- A provider that does not answer leaves the attempt `processing`; a retry continues it with
-- the same key, and the sweep (reconcileStaleAttempts in src/features/payments/repo.ts)
-- refunds, by key, attempts whose booking is gone.
--
-- Refunds are claimed with a lease (refund_claim, refund_lease_until) in a short statement,
-- called outside any transaction and settled one by one; a claimer that dies loses its lease
-- and the sweep takes the payments over.
--
-- Lock order (docs/ARCHITECTURE.md): the booking row, then the rows of its payments. Every
-- change of a `processing` attempt and every move of a `succeeded` payment is made by the
-- holder of its booking's row lock; refund claims and settles touch only refund_pending rows
-- and never wait for a booking.
--
-- The functions below answer with booking_document() (migration 009), bound when they run.

ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('processing', 'succeeded', 'failed', 'refund_pending', 'refunded'));
ALTER TABLE payments
  ADD COLUMN charge_key text,
  ADD COLUMN refund_claim uuid,
  ADD COLUMN refund_lease_until timestamptz,
  ADD CONSTRAINT payments_attempt_has_key CHECK (status <> 'processing' OR charge_key IS NOT NULL);
COMMENT ON COLUMN payments.charge_key IS 'Idempotency key of the provider charge this row records (charge attempts); NULL for webhook payments and rows before migration 008';
COMMENT ON COLUMN payments.refund_claim IS 'The refund pass that is calling the provider for this refund_pending payment';
COMMENT ON COLUMN payments.refund_lease_until IS 'Until then no other pass claims this refund; after it, anyone may (a claimer died, or the provider refused: a back-off)';

-- One key, one charge record; one open attempt per booking (concurrent confirms share it).
CREATE UNIQUE INDEX payments_charge_key_key ON payments (charge_key);
CREATE UNIQUE INDEX payments_one_open_attempt ON payments (booking_id) WHERE status = 'processing';
-- The sweep looks for attempts nobody finished.
CREATE INDEX payments_processing_idx ON payments (updated_at) WHERE status = 'processing';

-- The outcome of a charge, applied to its attempt under the booking row lock. Used by
-- payment_settle (the confirm that called the provider) and payment_webhook (the provider
-- telling us first). p_ok: the provider charged (p_reference) or declined (p_reason).
-- p_grace_ms: a booking still pending whose hold lapsed less than this long ago is still
-- confirmed (its attempt began while the hold was live: payment_begin refuses lapsed ones);
-- once anyone has expired it, the charge is refunded instead.
-- Outcomes: confirmed (kept, or the booking is confirmed by another payment), declined
-- (reason), expired, cancelled, not_bookable, unknown. show_id: set when this call changed
-- the booking's seats (confirmed or expired it). refund: a refund_pending payment is
-- waiting for the provider.
CREATE FUNCTION payment_apply(p_payment uuid, p_ok boolean, p_reference text, p_reason text, p_grace_ms integer)
RETURNS TABLE (outcome text, show_id uuid, refund boolean, reason text, booking_id uuid)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_booking uuid;
  b record;
  p payments%ROWTYPE;
  v_keep boolean;
  v_why text;
  v_changed uuid;
BEGIN
  SELECT pm.booking_id INTO v_booking FROM payments pm WHERE pm.id = p_payment;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'unknown'::text, NULL::uuid, false, NULL::text, NULL::uuid;
    RETURN;
  END IF;
  SELECT bk.id, bk.show_id, bk.status, bk.expires_at, s.status AS show_status, s.starts_at
    INTO b FROM bookings bk JOIN shows s ON s.id = bk.show_id WHERE bk.id = v_booking FOR UPDATE OF bk;
  -- Read after the lock (a new statement, a new snapshot): what the lock holders decided.
  SELECT * INTO p FROM payments pm WHERE pm.id = p_payment;

  IF p.status = 'processing' THEN
    IF NOT p_ok THEN
      UPDATE payments SET status = 'failed', failure_reason = p_reason, updated_at = now() WHERE id = p_payment;
      RETURN QUERY SELECT 'declined'::text, NULL::uuid, false, p_reason, b.id;
      RETURN;
    END IF;
    v_keep := b.status = 'pending' AND b.show_status = 'scheduled' AND b.starts_at > p.updated_at
              AND now() < b.expires_at + make_interval(secs => p_grace_ms / 1000.0);
    IF v_keep THEN
      UPDATE payments SET status = 'succeeded', provider_ref = coalesce(p_reference, provider_ref), updated_at = now() WHERE id = p_payment;
      UPDATE bookings SET status = 'confirmed', confirmed_at = now() WHERE id = b.id;
      RETURN QUERY SELECT 'confirmed'::text, b.show_id, false, NULL::text, b.id;
      RETURN;
    END IF;
    -- Charged, but the booking cannot take it: give the money back. show_id is returned
    -- only when this call changed the seats (it expired a lapsed hold).
    IF b.status = 'pending' AND b.expires_at <= now() THEN
      UPDATE bookings SET status = 'expired', expired_at = now() WHERE id = b.id;
      b.status := 'expired';
      v_changed := b.show_id;
    END IF;
    v_why := CASE b.status WHEN 'confirmed' THEN 'duplicate_charge' WHEN 'pending' THEN 'show_not_bookable' ELSE 'booking_' || b.status END;
    UPDATE payments SET status = 'refund_pending', provider_ref = coalesce(p_reference, provider_ref), failure_reason = v_why, updated_at = now()
     WHERE id = p_payment;
    RETURN QUERY SELECT CASE b.status WHEN 'confirmed' THEN 'confirmed' WHEN 'cancelled' THEN 'cancelled' WHEN 'expired' THEN 'expired' ELSE 'not_bookable' END,
                        v_changed, true, v_why, b.id;
    RETURN;
  END IF;

  -- Settled already (another confirm of the same attempt, the webhook, or the sweep): answer
  -- from what is recorded. The reference the provider gave is kept if none was known.
  IF p_ok AND p_reference IS NOT NULL AND p.provider_ref IS NULL THEN
    UPDATE payments SET provider_ref = p_reference, updated_at = now() WHERE id = p_payment;
  END IF;
  IF p_ok AND p.status = 'failed' THEN
    -- The provider says this key charged although we recorded a failure: never keep money
    -- without a record of it.
    UPDATE payments SET status = 'refund_pending', provider_ref = coalesce(p_reference, provider_ref), failure_reason = 'charged_after_failure', updated_at = now()
     WHERE id = p_payment;
    p.status := 'refund_pending';
  END IF;
  RETURN QUERY SELECT
    CASE WHEN b.status = 'confirmed' THEN 'confirmed'
         WHEN b.status = 'cancelled' THEN 'cancelled'
         WHEN b.status = 'expired' OR b.expires_at <= now() THEN 'expired'
         WHEN p.status = 'failed' THEN 'declined'
         ELSE 'not_bookable' END,
    NULL::uuid, p.status = 'refund_pending', p.failure_reason, b.id;
END $$;

-- Confirm, step 1 (one round trip). p_admin: an admin may confirm anyone's booking; anyone
-- else's is not_found. Outcomes: charge (payment_id, charge_key, amount, currency: call the
-- provider), confirmed (booking: the document; nothing to charge), cancelled, expired
-- (show_id set when this call expired a lapsed hold), not_bookable (show cancelled or
-- started), not_found.
CREATE FUNCTION payment_begin(p_booking uuid, p_user uuid, p_admin boolean, p_provider text)
RETURNS TABLE (outcome text, payment_id uuid, charge_key text, amount integer, currency text, show_id uuid, booking json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b record;
  p payments%ROWTYPE;
  v_id uuid;
BEGIN
  SELECT bk.id, bk.user_id, bk.show_id, bk.status, bk.total, bk.currency, bk.expires_at <= now() AS lapsed,
         s.status AS show_status, s.starts_at <= now() AS show_started
    INTO b FROM bookings bk JOIN shows s ON s.id = bk.show_id WHERE bk.id = p_booking FOR UPDATE OF bk;
  IF NOT FOUND OR (b.user_id <> p_user AND NOT p_admin) THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::uuid, NULL::json;
    RETURN;
  END IF;
  IF b.status = 'confirmed' THEN
    RETURN QUERY SELECT 'confirmed'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::uuid, booking_document(p_booking);
    RETURN;
  END IF;
  IF b.status IN ('cancelled', 'expired') THEN
    RETURN QUERY SELECT b.status::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::uuid, NULL::json;
    RETURN;
  END IF;
  IF b.lapsed THEN
    UPDATE bookings SET status = 'expired', expired_at = now() WHERE id = p_booking;
    RETURN QUERY SELECT 'expired'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, b.show_id, NULL::json;
    RETURN;
  END IF;
  IF b.show_status <> 'scheduled' OR b.show_started THEN
    RETURN QUERY SELECT 'not_bookable'::text, NULL::uuid, NULL::text, NULL::integer, NULL::text, NULL::uuid, NULL::json;
    RETURN;
  END IF;
  -- The open attempt, if a confirm of this booking is charging now or gave up waiting: the
  -- same key, so the provider charges once whoever asks.
  UPDATE payments pm SET updated_at = now() WHERE pm.booking_id = p_booking AND pm.status = 'processing' RETURNING * INTO p;
  IF NOT FOUND THEN
    v_id := gen_random_uuid();
    INSERT INTO payments (id, booking_id, provider, provider_ref, kind, status, amount, currency, charge_key)
    VALUES (v_id, p_booking, p_provider, NULL, 'charge', 'processing', b.total, b.currency, v_id::text)
    RETURNING * INTO p;
  END IF;
  RETURN QUERY SELECT 'charge'::text, p.id, p.charge_key, p.amount, p.currency, b.show_id, NULL::json;
END $$;

-- Confirm, step 3 (one round trip): payment_apply, and the booking document when the answer
-- is the booking (confirmed).
CREATE FUNCTION payment_settle(p_payment uuid, p_ok boolean, p_reference text, p_reason text, p_grace_ms integer)
RETURNS TABLE (outcome text, show_id uuid, refund boolean, reason text, booking json)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM payment_apply(p_payment, p_ok, p_reference, p_reason, p_grace_ms);
  RETURN QUERY SELECT r.outcome, r.show_id, r.refund, r.reason,
                      CASE WHEN r.outcome = 'confirmed' THEN booking_document(r.booking_id) END;
END $$;

-- POST /payments/webhook, already verified (one round trip). The same event id twice changes
-- nothing. A payment.succeeded for a booking with an open attempt of the same amount is that
-- attempt's charge reported first: it is applied to the attempt, so the confirm that is still
-- waiting for the provider finds it settled and nothing is charged or kept twice.
-- Outcomes: duplicate, unknown_booking, failure_recorded, already_confirmed, confirmed,
-- refund_pending.
CREATE FUNCTION payment_webhook(p_event text, p_type text, p_booking uuid, p_amount integer, p_currency text, p_provider text, p_grace_ms integer)
RETURNS TABLE (duplicate boolean, outcome text, refund boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  b record;
  p payments%ROWTYPE;
  r record;
  v_outcome text;
  v_refund boolean := false;
  v_why text;
BEGIN
  INSERT INTO webhook_events (id, type, booking_id, outcome) VALUES (p_event, p_type, p_booking, 'processing') ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY SELECT true, 'duplicate'::text, false;
    RETURN;
  END IF;
  SELECT bk.id, bk.status, bk.total, bk.currency, bk.expires_at <= now() AS lapsed
    INTO b FROM bookings bk WHERE bk.id = p_booking FOR UPDATE;
  IF NOT FOUND THEN
    v_outcome := 'unknown_booking';
  ELSIF p_type = 'payment.failed' THEN
    INSERT INTO payments (booking_id, provider, provider_ref, status, amount, currency, failure_reason, kind)
    VALUES (b.id, p_provider, p_event, 'failed', p_amount, p_currency, 'provider_reported_failure', 'webhook');
    v_outcome := 'failure_recorded';
  ELSE
    SELECT * INTO p FROM payments pm WHERE pm.booking_id = b.id AND pm.status = 'processing';
    IF FOUND AND p.amount = p_amount AND p.currency = p_currency THEN
      SELECT * INTO r FROM payment_apply(p.id, true, NULL, NULL, p_grace_ms);
      v_refund := r.refund;
      v_outcome := CASE WHEN r.refund THEN 'refund_pending' ELSE 'confirmed' END;
    ELSIF b.status = 'confirmed' AND EXISTS (SELECT 1 FROM payments pm WHERE pm.booking_id = b.id AND pm.status = 'succeeded') THEN
      v_outcome := 'already_confirmed';
    ELSIF b.status = 'pending' AND NOT b.lapsed AND p_amount = b.total AND p_currency = b.currency THEN
      INSERT INTO payments (booking_id, provider, provider_ref, status, amount, currency, kind)
      VALUES (b.id, p_provider, p_event, 'succeeded', p_amount, p_currency, 'webhook');
      UPDATE bookings SET status = 'confirmed', confirmed_at = now() WHERE id = b.id;
      v_outcome := 'confirmed';
    ELSE
      IF b.status = 'pending' AND b.lapsed THEN
        UPDATE bookings SET status = 'expired', expired_at = now() WHERE id = b.id;
      END IF;
      v_why := CASE WHEN p_amount <> b.total OR p_currency <> b.currency THEN 'amount_mismatch'
                    ELSE 'booking_' || CASE WHEN b.lapsed THEN 'expired' ELSE b.status END END;
      INSERT INTO payments (booking_id, provider, provider_ref, status, amount, currency, failure_reason, kind)
      VALUES (b.id, p_provider, p_event, 'refund_pending', p_amount, p_currency, v_why, 'webhook');
      v_outcome := 'refund_pending';
      v_refund := true;
    END IF;
  END IF;
  UPDATE webhook_events SET outcome = v_outcome WHERE id = p_event;
  RETURN QUERY SELECT false, v_outcome, v_refund;
END $$;

-- POST /bookings/:id/cancel (one round trip). Outcomes: cancelled (show_id; refund: its
-- payment is refund_pending now), unchanged (already cancelled), expired, started,
-- not_found; booking: the document for cancelled and unchanged. An attempt still charging
-- is left to its confirm, which finds the booking cancelled and refunds.
CREATE FUNCTION booking_cancel(p_booking uuid, p_user uuid, p_admin boolean)
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

-- Down Migration
DROP FUNCTION booking_cancel(uuid, uuid, boolean);
DROP FUNCTION payment_webhook(text, text, uuid, integer, text, text, integer);
DROP FUNCTION payment_settle(uuid, boolean, text, text, integer);
DROP FUNCTION payment_begin(uuid, uuid, boolean, text);
DROP FUNCTION payment_apply(uuid, boolean, text, text, integer);
DROP INDEX payments_processing_idx;
DROP INDEX payments_one_open_attempt;
DROP INDEX payments_charge_key_key;
-- Attempts nobody finished are recorded as failed (008's sweep would have refunded them by key).
UPDATE payments SET status = 'failed', failure_reason = 'abandoned_attempt' WHERE status = 'processing';
ALTER TABLE payments DROP CONSTRAINT payments_attempt_has_key;
ALTER TABLE payments DROP COLUMN refund_lease_until, DROP COLUMN refund_claim, DROP COLUMN charge_key;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('succeeded', 'failed', 'refund_pending', 'refunded'));
