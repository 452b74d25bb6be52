/**
 * Live seat changes. A trigger on booking_seats (migration 003) announces every change with
 * pg_notify inside the writing transaction (delivered on commit, dropped on rollback), from
 * every write path; every process LISTENs once and fans the events out to its seat-map
 * cache and to the subscribers of each show.
 */
import type { Logger } from 'pino';
import { listen, type Listener } from '../../db/listener.ts';
import type { SeatStatus } from './schemas.ts';

export const SEAT_CHANNEL = 'marquee_seats';
export interface SeatChange {
  id: string;
  status: SeatStatus;
}
export interface SeatEvent {
  showId: string;
  seats: SeatChange[];
  /** Set after the LISTEN connection was lost and is back: events may have been missed. */
  resync?: boolean;
}

export type SeatSubscriber = (event: SeatEvent) => void;

export function createSeatEventHub(url: string, logger?: Logger) {
  const subscribers = new Map<string, Set<SeatSubscriber>>();
  let listener: Listener | undefined;

  const invalidators = new Set<(showId: string | null) => void>();
  const dispatch = (_channel: string, payload: string) => {
    let event: SeatEvent;
    try {
      event = JSON.parse(payload) as SeatEvent;
    } catch {
      return;
    }
    for (const fn of invalidators) fn(event.showId);
    for (const fn of subscribers.get(event.showId) ?? []) fn(event);
  };
  const resyncAll = () => {
    for (const fn of invalidators) fn(null);
    for (const [showId, set] of subscribers) for (const fn of set) fn({ showId, seats: [], resync: true });
  };
  const ensureListening = () => {
    listener ??= listen(url, [SEAT_CHANNEL], dispatch, logger, resyncAll);
    return listener;
  };

  return {
    /**
     * Calls fn for every change of the show's seats, from any process; resolves, once the
     * process is listening, to the unsubscribe. Read a snapshot after this, not before.
     */
    async subscribe(showId: string, fn: SeatSubscriber): Promise<() => void> {
      await ensureListening().ready();
      let set = subscribers.get(showId);
      if (set === undefined) {
        set = new Set();
        subscribers.set(showId, set);
      }
      set.add(fn);
      return () => {
        set.delete(fn);
        if (set.size === 0) subscribers.delete(showId);
      };
    },
    /**
     * Seat-map cache invalidation: fn(showId) when a show's claims changed, fn(null) when
     * events may have been missed (connection lost or back). Starts listening.
     */
    onSeatMapChanged(fn: (showId: string | null) => void): () => void {
      ensureListening();
      invalidators.add(fn);
      return () => invalidators.delete(fn);
    },
    /** Whether invalidations are arriving now (a cache may only be trusted then). */
    listening(): boolean {
      return listener?.listening() ?? false;
    },
    subscriberCount(): number {
      let n = 0;
      for (const s of subscribers.values()) n += s.size;
      return n;
    },
    async close(): Promise<void> {
      subscribers.clear();
      invalidators.clear();
      await listener?.close();
      listener = undefined;
    },
  };
}

export type SeatEventHub = ReturnType<typeof createSeatEventHub>;
