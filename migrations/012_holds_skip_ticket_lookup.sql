-- Up Migration

-- booking_document() (010) looks up tickets only for a booking that was ever confirmed (only
-- a confirmation issues tickets, and it sets confirmed_at): a hold's answer, the hot path of a
-- flash sale, skips the lookup.
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
        SELECT CASE WHEN b.confirmed_at IS NULL THEN '[]'::json ELSE (
          SELECT coalesce(json_agg(json_build_object('id', tk.id, 'seatId', tk.show_seat_id, 'status', ticket_status(b.status, tk.checked_in_at),
                                                     'checkedInAt', api_timestamp(tk.checked_in_at))
                          ORDER BY ss.row_index, ss.number), '[]')
            FROM tickets tk JOIN show_seats ss ON ss.id = tk.show_seat_id
           WHERE tk.booking_id = b.id) END AS tickets
      ) tk
     WHERE b.id = p_id);
END $$;

-- Down Migration
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
