/**
 * Live seat changes. A trigger on booking_seats (migration 003) announces every change with
 * pg_notify inside the writing transaction (delivered on commit, dropped on rollback), from
 * every write path; every process LISTENs once and fans the events out to its seat-map
 * cache and to the subscribers of each show.
 */
import { randomUUID } from 'node:crypto';
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
  /** This process's number for the event (in arrival order, across shows): the stream's event id. */
  seq?: number;
}

/** Replay buffer (Last-Event-ID resume): at most this many recent events per show … */
export const REPLAY_EVENTS_PER_SHOW = 256;
/** … for at most this many shows that have, or recently had, a stream open. */
export const REPLAY_SHOWS = 1000;

interface ReplayBuffer {
  /** Events with a seq above this one are all in `events` (older ones were dropped or never kept). */
  from: number;
  events: { seq: number; seats: SeatChange[] }[];
}

export type SeatSubscriber = (event: SeatEvent) => void;

export function createSeatEventHub(url: string, logger?: Logger) {
  const subscribers = new Map<string, Set<SeatSubscriber>>();
  let listener: Listener | undefined;

  const invalidators = new Set<(showId: string | null) => void>();
  // Event ids: this process's epoch (ids from another process or an earlier run never match)
  // and a sequence number. Only shows with a stream open (or lately open) keep their events.
  const epoch = randomUUID().slice(0, 8);
  let seq = 0;
  const buffers = new Map<string, ReplayBuffer>();
  const dispatch = (_channel: string, payload: string) => {
    let event: SeatEvent;
    try {
      event = JSON.parse(payload) as SeatEvent;
    } catch {
      return;
    }
    event.seq = ++seq;
    const buffer = buffers.get(event.showId);
    if (buffer !== undefined) {
      buffer.events.push({ seq: event.seq, seats: event.seats });
      if (buffer.events.length > REPLAY_EVENTS_PER_SHOW) buffer.from = buffer.events.shift()?.seq ?? buffer.from;
    }
    for (const fn of invalidators) fn(event.showId);
    for (const fn of subscribers.get(event.showId) ?? []) fn(event);
  };
  const resyncAll = () => {
    // Events may have been missed: no buffer can replay across the gap.
    for (const buffer of buffers.values()) {
      buffer.from = seq;
      buffer.events = [];
    }
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
      if (!buffers.has(showId)) {
        buffers.set(showId, { from: seq, events: [] });
        if (buffers.size > REPLAY_SHOWS) {
          for (const key of buffers.keys()) {
            if (!subscribers.has(key)) {
              buffers.delete(key);
              break;
            }
          }
        }
      }
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
    /** The id of the latest event this process has seen: a snapshot read now is at least this recent. */
    lastEventId(): string {
      return `${epoch}.${seq}`;
    },
    eventId(event: SeatEvent): string {
      return `${epoch}.${event.seq ?? seq}`;
    },
    /**
     * The show's events after a Last-Event-ID, oldest first, when this process still holds
     * every one of them; undefined when it cannot tell (another process's or a stale id, or
     * too old): send a fresh snapshot then. Call it right after subscribe() resolves, before
     * any await: later events reach the subscriber instead.
     */
    replaySince(showId: string, lastEventId: string): { seq: number; seats: SeatChange[] }[] | undefined {
      const m = /^([0-9a-f]{8})\.(\d{1,15})$/.exec(lastEventId);
      if (m?.[1] !== epoch || m[2] === undefined) return undefined;
      const after = Number(m[2]);
      const buffer = buffers.get(showId);
      if (buffer === undefined || after < buffer.from || after > seq) return undefined;
      return buffer.events.filter((e) => e.seq > after);
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
      buffers.clear();
      await listener?.close();
      listener = undefined;
    },
  };
}

export type SeatEventHub = ReturnType<typeof createSeatEventHub>;
