import { conflict, DomainError } from '../../domain/errors.ts';

export const emailTaken = () => conflict('EMAIL_TAKEN', 'Email taken', 'An account with this email already exists.');
export const invalidCredentials = () =>
  new DomainError('unauthenticated', 'INVALID_CREDENTIALS', 'Invalid credentials', 'The email or password is wrong.');
export const invalidRefreshToken = () =>
  new DomainError('unauthenticated', 'UNAUTHENTICATED', 'Unauthenticated', 'The refresh token is invalid, expired or revoked.');
