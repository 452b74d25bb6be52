/**
 * Latency samples and answer counts. Every sample is kept (a growable Float64Array) and
 * percentiles are read from the sorted array by nearest rank: exact, no bucketing error.
 */

export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = ms;
  }

  addAll(values: Iterable<number>): void {
    for (const v of values) this.add(v);
  }

  get count(): number {
    return this.n;
  }

  sorted(): Float64Array {
    return this.data.slice(0, this.n).sort();
  }

  toArray(): number[] {
    return Array.from(this.data.subarray(0, this.n));
  }
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of a sorted array (p in 0..100); NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

const r2 = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : v);

export function summarise(samples: Samples): LatencySummary {
  const s = samples.sorted();
  let sum = 0;
  for (const v of s) sum += v;
  return {
    count: s.length,
    minMs: r2(s[0] ?? Number.NaN),
    meanMs: r2(s.length === 0 ? Number.NaN : sum / s.length),
    p50Ms: r2(percentile(s, 50)),
    p90Ms: r2(percentile(s, 90)),
    p95Ms: r2(percentile(s, 95)),
    p99Ms: r2(percentile(s, 99)),
    p999Ms: r2(percentile(s, 99.9)),
    maxMs: r2(s[s.length - 1] ?? Number.NaN),
  };
}

/** One endpoint's latencies and its answers by status ("201", "409 SEATS_UNAVAILABLE", "ERR ECONNRESET"). */
export class EndpointStats {
  readonly latency = new Samples();
  readonly answers = new Map<string, number>();

  record(answer: string, ms: number): void {
    this.latency.add(ms);
    this.answers.set(answer, (this.answers.get(answer) ?? 0) + 1);
  }

  count(prefix: string): number {
    let n = 0;
    for (const [k, v] of this.answers) if (k.startsWith(prefix)) n += v;
    return n;
  }

  toJSON(): EndpointReport {
    return { latency: summarise(this.latency), answers: Object.fromEntries([...this.answers].sort(([a], [b]) => a.localeCompare(b))) };
  }
}

export interface EndpointReport {
  latency: LatencySummary;
  answers: Record<string, number>;
}

/** Endpoint stats by name, created on first use. */
export class StatsBook {
  private readonly byName = new Map<string, EndpointStats>();

  get(name: string): EndpointStats {
    let s = this.byName.get(name);
    if (s === undefined) {
      s = new EndpointStats();
      this.byName.set(name, s);
    }
    return s;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Answers of every endpoint whose status starts with the prefix ("5" → all 5xx). */
  count(prefix: string): number {
    let n = 0;
    for (const s of this.byName.values()) n += s.count(prefix);
    return n;
  }

  total(): number {
    let n = 0;
    for (const s of this.byName.values()) n += s.latency.count;
    return n;
  }

  toJSON(): Record<string, EndpointReport> {
    return Object.fromEntries([...this.byName].map(([k, v]) => [k, v.toJSON()]));
  }
}

export const round = (v: number, digits = 2): number => {
  const f = 10 ** digits;
  return Number.isFinite(v) ? Math.round(v * f) / f : v;
};
