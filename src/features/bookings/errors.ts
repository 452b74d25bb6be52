import { conflict, DomainError } from '../../domain/errors.ts';

export const seatsUnavailable = (unavailableSeatIds: string[]) =>
  conflict('SEATS_UNAVAILABLE', 'Seats unavailable', 'Some of the seats are held or booked by someone else.', { unavailableSeatIds });
export const showNotBookable = (why: string) => conflict('SHOW_NOT_BOOKABLE', 'Show not bookable', why);
export const holdLimitReached = (max: number) =>
  conflict('HOLD_LIMIT_REACHED', 'Hold limit reached', `You already hold ${max} pending bookings; confirm or cancel one first.`);
export const seatLimitReached = (max: number, userSeats: number) =>
  conflict(
    'SEAT_LIMIT_REACHED',
    'Seat limit reached',
    `One customer may hold or buy at most ${max} seats of a show; you already hold or have bought ${userSeats} here.`,
    { maxSeatsPerShow: max, seatsHeldOrBought: userSeats },
  );
export const reholdCooldown = (retryAfterSeconds: number, seatIds: string[]) =>
  new DomainError(
    'conflict',
    'REHOLD_COOLDOWN',
    'Re-hold cool-down',
    `You released some of these seats moments ago; you can hold them again in ${retryAfterSeconds} seconds (anyone else can hold them now).`,
    { cooldownSeatIds: seatIds },
    retryAfterSeconds,
  );
export const bookingExpired = () => conflict('BOOKING_EXPIRED', 'Booking expired', 'The hold on these seats has expired.');
export const bookingCancelled = () => conflict('BOOKING_CANCELLED', 'Booking cancelled', 'This booking was cancelled.');
export const bookingNotCancellable = (why: string) => conflict('BOOKING_NOT_CANCELLABLE', 'Booking not cancellable', why);
export const paymentDeclined = (reason: string) =>
  new DomainError('payment', 'PAYMENT_DECLINED', 'Payment declined', `The payment was declined (${reason}); the seats stay held until the hold expires.`);
export const idempotencyKeyReused = () =>
  new DomainError('invalid', 'IDEMPOTENCY_KEY_REUSED', 'Idempotency key reused', 'This Idempotency-Key was used with a different request body.');
