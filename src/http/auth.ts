/**
 * Who is calling: reads the Bearer token; a token that is present but not valid (or whose
 * sign-in has ended) is a 401. The role comes from the verifier (the database's, not the token's).
 */
import type { Request } from 'express';
import type { AuthUser } from '../domain/identity.ts';
import { unauthenticated } from './errors.ts';

export function createAuthenticate(verify: (token: string) => Promise<AuthUser | undefined>) {
  return async (req: Request): Promise<AuthUser | undefined> => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return undefined;
    const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
    if (match?.[1] === undefined) throw unauthenticated('The Authorization header must be "Bearer <accessToken>".');
    const user = await verify(match[1]);
    if (user === undefined) throw unauthenticated('The access token is invalid or has expired.');
    return user;
  };
}
