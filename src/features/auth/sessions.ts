/**
 * Whether a verified access token still holds, and with which role, without a database
 * round trip on the hot path.
 *
 * Each process caches per user what decides it: the role, the token version and the
 * sign-ins (refresh-token families) ended within the last access-token lifetime. A miss
 * costs one query. Triggers on `users` and `refresh_tokens` (migration 005) send the user's
 * id on channel `marquee_sessions` whenever one of those changes, from any write path and
 * any process; this process LISTENs there and drops the entry. The cache is read and
 * filled only while that LISTEN connection is up; it is cleared when the connection is
 * lost and when it is back, and in between every check queries. A generation counter keeps
 * a read that raced an invalidation from being stored; an entry is never kept past
 * MAX_AGE_MS (a LISTEN connection that dies silently) nor past MAX_ENTRIES users.
 * ADR 0012 has the why; the seat-map cache (shows/service.ts) works the same way.
 */
import type { Logger } from 'pino';
import { listen, type Listener } from '../../db/listener.ts';
import type { Db } from '../../db/pool.ts';
import type { Role } from '../../domain/identity.ts';
import * as repo from './repo.ts';

export const SESSION_CHANNEL = 'marquee_sessions';
const MAX_ENTRIES = 10_000;
const MAX_AGE_MS = 30_000;
/** Margin for clock skew between the servers that sign tokens and the database. */
const CLOCK_SKEW_SECONDS = 60;

export interface SessionState {
  role: Role;
  tokenVersion: number;
  /** Sign-ins (refresh-token families) ended recently enough for their access tokens to live. */
  revokedSessions: ReadonlySet<string>;
}

interface Entry extends SessionState {
  validUntil: number;
}

export function createSessionCache(deps: { db: Db; accessTtlSeconds: number; logger?: Logger }) {
  const { db } = deps;
  const revokedWithinSeconds = deps.accessTtlSeconds + CLOCK_SKEW_SECONDS;
  const cache = new Map<string, Entry>();
  const invalidatedAt = new Map<string, number>();
  const watchers = new Set<(userId: string | null) => void>();
  const inflight = new Map<string, { promise: Promise<SessionState | undefined>; startedAt: number }>();
  let generation = 0;
  let resetAt = 0;

  /** userId: that user's state changed; null: changes may have been missed (drop everything). */
  const invalidate = (userId: string | null) => {
    generation++;
    if (userId === null || invalidatedAt.size >= MAX_ENTRIES) {
      cache.clear();
      invalidatedAt.clear();
      resetAt = generation;
    } else {
      cache.delete(userId);
      invalidatedAt.set(userId, generation);
    }
    for (const fn of watchers) fn(userId);
  };
  const listener: Listener = listen(
    db.url,
    [SESSION_CHANNEL],
    (_channel, payload) => invalidate(payload.toLowerCase()),
    deps.logger,
    () => invalidate(null),
  );
  const changedSince = (userId: string, startedAt: number) => Math.max(invalidatedAt.get(userId) ?? 0, resetAt) > startedAt;

  async function load(userId: string, startedAt: number, trusted: boolean): Promise<SessionState | undefined> {
    const row = await repo.sessionState(db.pool, userId, revokedWithinSeconds);
    if (row === undefined) return undefined;
    const entry: Entry = {
      role: row.role,
      tokenVersion: row.token_version,
      revokedSessions: new Set(row.revoked_families),
      validUntil: Date.now() + MAX_AGE_MS,
    };
    // Store only what was read while invalidations were arriving and that nothing changed since.
    if (trusted && listener.listening() && !changedSince(userId, startedAt)) {
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value ?? '');
      cache.set(userId, entry);
    }
    return entry;
  }

  return {
    /** The user's current session state; undefined when the user does not exist. */
    async get(userId: string): Promise<SessionState | undefined> {
      const trusted = listener.listening();
      if (trusted) {
        const hit = cache.get(userId);
        if (hit !== undefined && Date.now() < hit.validUntil) return hit;
        // Single flight: concurrent misses for one user share a query begun after the last change.
        const flying = inflight.get(userId);
        if (flying !== undefined && !changedSince(userId, flying.startedAt)) return flying.promise;
      }
      const startedAt = generation;
      const promise = load(userId, startedAt, trusted);
      if (!trusted) return promise;
      inflight.set(userId, { promise, startedAt });
      try {
        return await promise;
      } finally {
        if (inflight.get(userId)?.promise === promise) inflight.delete(userId);
      }
    },
    /** Drops this process's entry at once (a write here committed; the trigger's notice follows). */
    invalidate(userId: string): void {
      invalidate(userId.toLowerCase());
    },
    /** Calls fn after every invalidation (userId, or null for all); returns the unsubscribe. */
    onInvalidated(fn: (userId: string | null) => void): () => void {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
    /** Whether invalidations are arriving now (only then is the cache read). */
    listening(): boolean {
      return listener.listening();
    },
    /** Resolves once LISTEN is in place (or after timeoutMs). */
    ready(timeoutMs?: number): Promise<void> {
      return listener.ready(timeoutMs);
    },
    size(): number {
      return cache.size;
    },
    async close(): Promise<void> {
      watchers.clear();
      cache.clear();
      await listener.close();
    },
  };
}

export type SessionCache = ReturnType<typeof createSessionCache>;
