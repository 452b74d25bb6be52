/** The booking invariants, checked in the database after races and faults. */

export interface InvariantReport {
  checks: number;
  violations: string[];
}

export type Sql = (text: string) => Promise<Record<string, unknown>[]>;

const CHECKS: [string, string][] = [
  [
    'a seat claimed by two active bookings',
    `SELECT show_seat_id::text AS id FROM booking_seats WHERE booking_status IN ('pending', 'confirmed')
      GROUP BY show_seat_id HAVING count(*) > 1`,
  ],
  [
    'a seat claim whose status differs from its booking',
    `SELECT bs.booking_id::text AS id FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id WHERE bs.booking_status <> b.status`,
  ],
  ['a booking without seats', `SELECT b.id::text AS id FROM bookings b WHERE NOT EXISTS (SELECT 1 FROM booking_seats bs WHERE bs.booking_id = b.id)`],
  [
    'a booking whose total is not the sum of its seat prices',
    `SELECT b.id::text AS id FROM bookings b WHERE b.total <> (SELECT coalesce(sum(price), 0) FROM booking_seats bs WHERE bs.booking_id = b.id)`,
  ],
  [
    'a confirmed booking without exactly one successful payment',
    `SELECT b.id::text AS id FROM bookings b WHERE b.status = 'confirmed'
        AND (SELECT count(*) FROM payments p WHERE p.booking_id = b.id AND p.status = 'succeeded') <> 1`,
  ],
  [
    'a successful payment on a booking that is not confirmed',
    `SELECT p.id::text AS id FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.status = 'succeeded' AND b.status <> 'confirmed'`,
  ],
  [
    'a confirmed payment amount that differs from the booking total',
    `SELECT p.id::text AS id FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.status = 'succeeded' AND p.amount <> b.total`,
  ],
  [
    'a confirmed booking without exactly one ticket per seat (migration 010 issues them on confirm)',
    `SELECT b.id::text AS id FROM bookings b WHERE b.status = 'confirmed'
        AND (SELECT count(*) FROM tickets tk WHERE tk.booking_id = b.id) <> (SELECT count(*) FROM booking_seats bs WHERE bs.booking_id = b.id)`,
  ],
  [
    'a checked-in ticket of a booking its holder cancelled (a show cancel may void checked-in tickets; a booking cancel may not)',
    `SELECT tk.id::text AS id FROM tickets tk JOIN bookings b ON b.id = tk.booking_id JOIN shows s ON s.id = b.show_id
      WHERE tk.checked_in_at IS NOT NULL AND b.status <> 'confirmed' AND s.status <> 'cancelled'`,
  ],
  [
    'a held or booked seat of a cancelled show',
    `SELECT bs.show_seat_id::text AS id FROM booking_seats bs JOIN shows s ON s.id = bs.show_id
      WHERE s.status = 'cancelled' AND bs.booking_status IN ('pending', 'confirmed')`,
  ],
];

export async function checkInvariants(sql: Sql): Promise<InvariantReport> {
  const violations: string[] = [];
  for (const [name, query] of CHECKS) {
    const rows = await sql(query);
    for (const r of rows) violations.push(`${name}: ${String(r['id'])}`);
  }
  return { checks: CHECKS.length, violations };
}
