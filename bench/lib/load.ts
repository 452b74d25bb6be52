/**
 * The two load models.
 *
 * Closed: N virtual users each in a loop; a slow server slows the arrivals down, so the
 * queueing delay a real crowd would see stays partly hidden.
 *
 * Open: arrivals on a fixed schedule (rate r), whatever the server does; the first request
 * of each arrival is timed from its scheduled time, so a late generator or a full server
 * shows up in the latency (no coordinated omission).
 */
import { performance } from 'node:perf_hooks';
import { Samples } from './stats.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ClosedWindow {
  /** performance.now() at which measuring started and ended. */
  from: number;
  to: number;
  /** Length of the measured window in ms (may be short if stopWhen ended it early). */
  ms: number;
  stoppedEarly: boolean;
}

/**
 * Runs `concurrency` loops for warmupMs + durationMs. iteration(vu, measured) is called
 * back to back; `measured` tells whether the request it starts falls in the measured window.
 */
export async function closedLoop(opts: {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  iteration: (vu: number, measured: boolean) => Promise<void>;
  /** Ends the run early (e.g. the seats ran out). */
  stopWhen?: () => boolean;
}): Promise<ClosedWindow> {
  const start = performance.now();
  const from = start + opts.warmupMs;
  const to = from + opts.durationMs;
  let stoppedAt: number | undefined;
  const loop = async (vu: number) => {
    for (;;) {
      const now = performance.now();
      if (now >= to || stoppedAt !== undefined) return;
      if (opts.stopWhen?.() === true) {
        stoppedAt ??= now;
        return;
      }
      await opts.iteration(vu, now >= from);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, vu) => loop(vu)));
  const end = Math.min(to, stoppedAt ?? to);
  return { from, to: end, ms: Math.max(0, end - from), stoppedEarly: stoppedAt !== undefined && stoppedAt < to };
}

export interface OpenResult {
  /** How late each arrival was launched compared with its schedule, ms. */
  lag: Samples;
  launched: number;
  /** performance.now() of the first scheduled arrival. */
  t0: number;
}

/**
 * Launches `count` sessions at `ratePerSec`, each session(i, scheduledAt) on its own,
 * and waits for all of them. Sessions must not throw (they record their own failures).
 */
export async function openArrivals(opts: {
  ratePerSec: number;
  count: number;
  session: (i: number, scheduledAt: number) => Promise<void>;
  stop?: () => boolean;
}): Promise<OpenResult> {
  const lag = new Samples();
  const interval = 1000 / opts.ratePerSec;
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  let launched = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(opts.count, Math.floor((now - t0) / interval) + 1);
      while (launched < due && opts.stop?.() !== true) {
        const i = launched++;
        const scheduledAt = t0 + i * interval;
        lag.add(now - scheduledAt);
        running.push(opts.session(i, scheduledAt));
      }
      if (launched >= opts.count || opts.stop?.() === true) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, t0 + launched * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(running);
  return { lag, launched, t0 };
}

/** Prints a progress line every intervalMs while fn runs. */
export async function withProgress<T>(label: string, status: () => string, fn: () => Promise<T>, intervalMs = 2000): Promise<T> {
  const start = performance.now();
  const timer = setInterval(() => {
    process.stderr.write(`    … ${label}  t=${((performance.now() - start) / 1000).toFixed(1)}s  ${status()}\n`);
  }, intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

export function randomInt(n: number): number {
  return Math.floor(Math.random() * n);
}

export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const t = a[i] as T;
    a[i] = a[j] as T;
    a[j] = t;
  }
  return a;
}
