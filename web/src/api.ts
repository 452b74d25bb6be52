/**
 * The page's one Marquee client (clients/typescript, generated from the OpenAPI document),
 * with the sign-in kept in localStorage so a reload stays signed in. The client refreshes
 * the token pair on a 401 by itself; onTokens keeps the stored pair current.
 */
import { createMarqueeClient, type TokenPair } from '../../clients/typescript/src/index.ts';

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

const initial = storedTokens();
export const client = createMarqueeClient({
  baseUrl: location.origin,
  ...(initial === undefined ? {} : { tokens: initial }),
  onTokens(tokens) {
    if (tokens === undefined) localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    for (const listener of listeners) listener(tokens !== undefined);
  },
});

/** Called with true/false whenever the sign-in starts or ends. */
export function onAuthChange(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
