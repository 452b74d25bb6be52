import { AppError, conflict } from '../../http/errors.ts';

export const emailTaken = () => conflict('EMAIL_TAKEN', 'Email taken', 'An account with this email already exists.');
export const invalidCredentials = () =>
  new AppError(401, 'INVALID_CREDENTIALS', 'Invalid credentials', 'The email or password is wrong.');
export const invalidRefreshToken = () =>
  new AppError(401, 'UNAUTHENTICATED', 'Unauthenticated', 'The refresh token is invalid, expired or revoked.');
