/** Money, dates and seat names, formatted the same way on every page. */

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** An amount in minor units (cents: the API's money is an integer) in its currency, e.g. 1250 USD → "$12.50". */
export function money(minor: number, currency: string): string {
  let format = moneyFormats.get(currency);
  if (format === undefined) {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    moneyFormats.set(currency, format);
  }
  // JPY has no minor unit, KWD three: the currency says how many digits its minor unit has.
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}

const dateTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

export const formatDateTime = (iso: string): string => dateTime.format(new Date(iso));
export const formatTime = (iso: string): string => time.format(new Date(iso));
export const formatDay = (d: Date): string => day.format(d);

/** A local calendar date as YYYY-MM-DD (the value of an <input type=date>). */
export function isoDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "m:ss" of a number of seconds (never negative). */
export function countdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface SeatName {
  row: string;
  number: number;
}
export const seatName = (s: SeatName): string => `Row ${s.row}, seat ${s.number}`;

/** "Row A, seats 3, 4 and 7; row B, seat 1": seats grouped by row, in the order given. */
export function seatList(seats: readonly SeatName[]): string {
  const rows = new Map<string, number[]>();
  for (const s of seats) rows.set(s.row, [...(rows.get(s.row) ?? []), s.number]);
  const parts = [...rows].map(([row, numbers]) => {
    const sorted = [...numbers].sort((a, b) => a - b);
    const last = sorted.pop();
    const list = sorted.length === 0 ? String(last) : `${sorted.join(', ')} and ${String(last)}`;
    return `row ${row}, seat${sorted.length === 0 ? '' : 's'} ${list}`;
  });
  return capitalise(parts.join('; '));
}
