/**
 * The page's one Marquee client (clients/typescript, generated from the OpenAPI document),
 * with the sign-in kept in localStorage so a reload stays signed in. The client refreshes
 * the token pair on a 401 by itself; onTokens keeps the stored pair current.
 */
import { createMarqueeClient, type Schemas, type TokenPair } from '../../clients/typescript/src/index.ts';

export type { Schemas };
export type User = Schemas['User'];

const STORAGE_KEY = 'marquee.tokens';

function storedTokens(): TokenPair | undefined {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw === null) return undefined;
    const parsed = JSON.parse(raw) as Partial<TokenPair>;
    return typeof parsed.accessToken === 'string' && typeof parsed.refreshToken === 'string'
      ? { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken }
      : undefined;
  } catch {
    return undefined;
  }
}

const listeners = new Set<(signedIn: boolean) => void>();
/** The signed-in user, once known (sign-in answers carry it; after a reload GET /me tells). */
let user: User | undefined;

const initial = storedTokens();
export const client = createMarqueeClient({
  baseUrl: location.origin,
  ...(initial === undefined ? {} : { tokens: initial }),
  onTokens(tokens) {
    if (tokens === undefined) {
      localStorage.removeItem(STORAGE_KEY);
      user = undefined;
    } else {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    }
    for (const listener of listeners) listener(tokens !== undefined);
  },
});

// Another tab signed in or out: follow it, so two tabs never rotate one refresh token apart.
window.addEventListener('storage', (e) => {
  if (e.key !== STORAGE_KEY) return;
  const next = storedTokens();
  if (next?.refreshToken === client.tokens?.refreshToken) return;
  user = undefined;
  client.setTokens(next);
});

/** Called with true/false whenever the sign-in starts, ends or its tokens are refreshed. */
export function onAuthChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export const signedIn = (): boolean => client.tokens !== undefined;

export function rememberUser(u: User): void {
  user = u;
}

/** The signed-in user (GET /me the first time after a reload), or undefined when signed out. */
export async function currentUser(): Promise<User | undefined> {
  if (client.tokens === undefined) return undefined;
  if (user !== undefined) return user;
  const { data } = await client.api.GET('/api/v1/me');
  if (data !== undefined && client.tokens !== undefined) user = data;
  return user;
}
