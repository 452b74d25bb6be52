/**
 * The Marquee client: openapi-fetch over the types openapi-typescript generated from the
 * OpenAPI document (./schema.ts), plus the little a caller would otherwise write by hand:
 *
 * - auth: the bearer token goes on every request; a 401 refreshes the pair once
 *   (POST /api/v1/auth/refresh, one refresh at a time: refresh tokens rotate, and presenting
 *   a rotated one twice ends the sign-in) and retries the request once with the new token;
 * - holds carry an `Idempotency-Key` (a fresh UUID unless given), so a retried hold books
 *   nothing twice;
 * - the live seat map (server-sent events) as an async iterator: `for await (const e of client.seats(showId))`.
 *
 * Everything else is `client.api.GET(...)` / `.POST(...)`, typed by path.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './schema.ts';
import { seatStream, type SeatStreamOptions } from './seat-stream.ts';

export type { components, operations, paths };
/** The document's named schemas: `Schemas['Booking']`, `Schemas['SeatsUnavailableProblem']`, … */
export type Schemas = components['schemas'];
export type { SeatChange, SeatStreamEvent, SeatStreamOptions } from './seat-stream.ts';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export interface MarqueeClientOptions {
  /** The server's origin, e.g. `http://localhost:3000` (paths carry `/api/v1`). */
  baseUrl: string;
  /** Tokens of an existing sign-in. */
  tokens?: TokenPair;
  /** Called whenever the tokens change (sign-in, refresh, sign-out), e.g. to persist them. */
  onTokens?: (tokens: TokenPair | undefined) => void;
  /** A fetch of your own (tests, instrumentation); globalThis.fetch by default. */
  fetch?: (request: Request) => Promise<Response>;
}

/** Requests that carry no bearer token and are never retried after a 401. */
const TOKEN_ENDPOINTS = /\/api\/v1\/auth\/(register|login|refresh|logout)$/;

export type MarqueeClient = ReturnType<typeof createMarqueeClient>;

export function createMarqueeClient(options: MarqueeClientOptions) {
  const doFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const api: Client<paths> = createClient<paths>({ baseUrl: options.baseUrl, fetch: doFetch });
  let tokens = options.tokens;
  let refreshing: Promise<TokenPair | undefined> | undefined;
  /** Per request id: a copy to replay after a refresh, and the access token it was sent with. */
  const pending = new Map<string, { replay: Request; accessToken: string }>();

  const setTokens = (next: TokenPair | undefined): void => {
    tokens = next === undefined ? undefined : { accessToken: next.accessToken, refreshToken: next.refreshToken };
    options.onTokens?.(tokens);
  };

  /** One refresh at a time; every 401 that arrives meanwhile waits for it. */
  const refresh = (): Promise<TokenPair | undefined> => {
    const current = tokens;
    if (current === undefined) return Promise.resolve(undefined);
    refreshing ??= (async () => {
      const { data } = await api.POST('/api/v1/auth/refresh', { body: { refreshToken: current.refreshToken } });
      setTokens(data);
      return tokens;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const auth: Middleware = {
    onRequest({ request, id }) {
      if (tokens === undefined || request.headers.has('authorization') || TOKEN_ENDPOINTS.test(new URL(request.url).pathname)) return undefined;
      request.headers.set('authorization', `Bearer ${tokens.accessToken}`);
      pending.set(id, { replay: request.clone(), accessToken: tokens.accessToken });
      return request;
    },
    async onResponse({ response, id }) {
      const sent = pending.get(id);
      pending.delete(id);
      if (response.status !== 401 || sent === undefined) return undefined;
      // Another request may have refreshed already: then only retry with the newer token.
      const fresh = tokens !== undefined && tokens.accessToken !== sent.accessToken ? tokens : await refresh();
      if (fresh === undefined) return undefined;
      await response.body?.cancel();
      sent.replay.headers.set('authorization', `Bearer ${fresh.accessToken}`);
      return doFetch(sent.replay);
    },
    onError({ id }) {
      pending.delete(id);
    },
  };
  api.use(auth);

  return {
    /** The typed openapi-fetch client: `api.GET('/api/v1/shows', { params: { query: { city } } })`. */
    api,
    get tokens(): TokenPair | undefined {
      return tokens;
    },
    setTokens,
    /** Creates an account and keeps its tokens. */
    async register(body: { email: string; password: string; name: string }) {
      const result = await api.POST('/api/v1/auth/register', { body });
      if (result.data !== undefined) setTokens(result.data);
      return result;
    },
    /** Signs in and keeps the tokens. */
    async login(body: { email: string; password: string }) {
      const result = await api.POST('/api/v1/auth/login', { body });
      if (result.data !== undefined) setTokens(result.data);
      return result;
    },
    /** Ends this sign-in (its refresh token) and forgets the tokens. */
    async logout() {
      const current = tokens;
      setTokens(undefined);
      if (current !== undefined) await api.POST('/api/v1/auth/logout', { body: { refreshToken: current.refreshToken } });
    },
    /**
     * Holds seats (a pending booking) with an Idempotency-Key: pass the same key when
     * retrying the same hold, and the first answer comes back instead of a second booking.
     */
    hold(body: { showId: string; seatIds: string[] }, idempotencyKey: string = globalThis.crypto.randomUUID()) {
      return api.POST('/api/v1/bookings', { body, params: { header: { 'Idempotency-Key': idempotencyKey } } });
    },
    /** The show's live seat map: a `snapshot` event, then a `change` event per change. Stop it with `signal`. */
    seats(showId: string, streamOptions: SeatStreamOptions = {}) {
      const url = `${options.baseUrl.replace(/\/$/, '')}/api/v1/shows/${encodeURIComponent(showId)}/seats/stream`;
      return seatStream(doFetch, url, streamOptions);
    },
  };
}
