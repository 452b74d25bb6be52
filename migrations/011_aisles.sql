-- Up Migration

-- Aisles in a screen's layout (issue #12: the seat map draws "rows, aisles from the layout").
-- A row's aisles are stored on its seats: aisle_after marks a seat with an aisle between it
-- and the next seat of its row (number + 1); never the last seat of a row. A flag per seat, not a
-- list per row, because rows are not a table of their own: a seat carries its row's label
-- and category the same way. show_seats copies it, like the rest of the layout, when a show
-- is created, so the seat map reads one table. Existing screens and shows have no aisles.
--
-- A constant default: PostgreSQL 11+ adds these columns without rewriting either table.
ALTER TABLE seats ADD COLUMN aisle_after boolean NOT NULL DEFAULT false;
ALTER TABLE show_seats ADD COLUMN aisle_after boolean NOT NULL DEFAULT false;

-- Down Migration
ALTER TABLE show_seats DROP COLUMN aisle_after;
ALTER TABLE seats DROP COLUMN aisle_after;
