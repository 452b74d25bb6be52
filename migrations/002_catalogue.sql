-- Up Migration
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Movies and theatres are never deleted while history points at them: DELETE sets
-- deleted_at, and the public lists leave them out.
CREATE TABLE movies (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title            text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
  description      text,
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
  language         text NOT NULL CHECK (length(language) BETWEEN 1 AND 50),
  genres           text[] NOT NULL DEFAULT '{}',
  certificate      text,
  release_date     date,
  poster_url       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz
);
-- Keyset pagination by (title, id); trigram index serves case-insensitive substring search.
CREATE INDEX movies_title_id_idx ON movies (title, id) WHERE deleted_at IS NULL;
CREATE INDEX movies_title_trgm_idx ON movies USING gin (lower(title) gin_trgm_ops) WHERE deleted_at IS NULL;
-- Genres keep their case; the filter matches them case-insensitively through this index.
CREATE FUNCTION lower_text_array(text[]) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (SELECT coalesce(array_agg(lower(x)), '{}') FROM unnest($1) AS x);
CREATE INDEX movies_genres_idx ON movies USING gin (lower_text_array(genres)) WHERE deleted_at IS NULL;
CREATE INDEX movies_language_idx ON movies (lower(language)) WHERE deleted_at IS NULL;

CREATE TABLE theatres (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  city       text NOT NULL CHECK (length(btrim(city)) BETWEEN 1 AND 100),
  address    text NOT NULL CHECK (length(address) <= 500),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX theatres_name_id_idx ON theatres (name, id) WHERE deleted_at IS NULL;
CREATE INDEX theatres_city_idx ON theatres (lower(city)) WHERE deleted_at IS NULL;
CREATE INDEX theatres_name_trgm_idx ON theatres USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL;

CREATE TABLE screens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  theatre_id uuid NOT NULL REFERENCES theatres (id),
  name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT screens_theatre_name_key UNIQUE (theatre_id, name),
  CONSTRAINT screens_id_theatre_key UNIQUE (id, theatre_id)
);

-- The physical seats of a screen, stored once. row_index orders rows front to back.
CREATE TABLE seats (
  id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  screen_id uuid NOT NULL REFERENCES screens (id),
  row_label text NOT NULL CHECK (length(row_label) BETWEEN 1 AND 10),
  row_index integer NOT NULL CHECK (row_index >= 0),
  number    integer NOT NULL CHECK (number >= 1),
  category  text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_-]{0,29}$'),
  CONSTRAINT seats_screen_row_number_key UNIQUE (screen_id, row_label, number)
);

-- A show occupies its screen from starts_at to busy_until (the movie's length plus a
-- cleaning buffer). The exclusion constraint makes overlapping shows on one screen
-- impossible to store, whoever races to create them.
CREATE TABLE shows (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  movie_id     uuid NOT NULL REFERENCES movies (id),
  screen_id    uuid NOT NULL,
  theatre_id   uuid NOT NULL,
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  busy_until   timestamptz NOT NULL,
  prices       jsonb NOT NULL,
  total_seats  integer NOT NULL DEFAULT 0 CHECK (total_seats >= 0),
  currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status       text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz,
  CONSTRAINT shows_screen_fk FOREIGN KEY (screen_id, theatre_id) REFERENCES screens (id, theatre_id),
  CONSTRAINT shows_times_check CHECK (starts_at < ends_at AND ends_at <= busy_until),
  CONSTRAINT shows_no_overlap EXCLUDE USING gist (screen_id WITH =, tstzrange(starts_at, busy_until, '[)') WITH &&)
    WHERE (status = 'scheduled')
);
CREATE INDEX shows_starts_idx ON shows (starts_at, id) WHERE status = 'scheduled';
CREATE INDEX shows_movie_idx ON shows (movie_id, starts_at);
CREATE INDEX shows_theatre_idx ON shows (theatre_id, starts_at);

-- A show's own seats, copied from the screen's layout when the show is created, each with
-- its category and price. Who holds or bought a seat lives in booking_seats.
CREATE TABLE show_seats (
  id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  show_id   uuid NOT NULL REFERENCES shows (id),
  seat_id   uuid NOT NULL REFERENCES seats (id),
  row_label text NOT NULL,
  row_index integer NOT NULL,
  number    integer NOT NULL,
  category  text NOT NULL,
  price     integer NOT NULL CHECK (price >= 0),
  CONSTRAINT show_seats_show_seat_key UNIQUE (show_id, seat_id),
  CONSTRAINT show_seats_id_show_key UNIQUE (id, show_id)
);
CREATE INDEX show_seats_show_idx ON show_seats (show_id, row_index, number);

-- Down Migration
DROP TABLE show_seats;
DROP TABLE shows;
DROP TABLE seats;
DROP TABLE screens;
DROP TABLE theatres;
DROP TABLE movies;
DROP FUNCTION lower_text_array(text[]);
