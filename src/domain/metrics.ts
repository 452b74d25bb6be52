/**
 * What services may count, as ports: the Prometheus registry (src/http/metrics.ts) provides
 * them, and a service never sees prom-client or the HTTP metrics.
 */

/** A counter of operations by outcome (bookings_total{outcome}). */
export interface OutcomeCounter {
  inc(labels: { outcome: string }, value?: number): void;
}

export interface ServiceMetrics {
  bookings: OutcomeCounter;
}
