/**
 * What limits throughput, sampled during each measured phase:
 *  - CPU split between the load generator, the server, PostgreSQL, … (from /proc),
 *  - what PostgreSQL backends of the bench database are doing (pg_stat_activity, every
 *    100 ms): running, waiting on a lock, on WAL I/O, or idle in a transaction (waiting for
 *    the Node process), averaged as "backends in that state",
 *  - the server's pool: connections in use and requests waiting for one (its /metrics).
 */
import type pg from 'pg';
import { HttpClient } from './http.ts';
import { cpuSnapshot, cpuSplit, type CpuGroups, type CpuSnapshot } from './procs.ts';

export interface PhaseResources {
  seconds: number;
  /** % of the whole machine (all cores = 100%). */
  cpu: Record<string, number>;
  /** Average number of backends in each state, largest first. */
  pgBackends: Record<string, number>;
  /** The server's pool, sampled from /metrics (one worker per sample). */
  pool?: { samples: number; avgInUse: number; avgWaiting: number; maxWaiting: number; eventLoopLagP99Ms: { avg: number; max: number } | null };
}

export class PhaseMonitor {
  private startSnap: CpuSnapshot | undefined;
  private pgTimer: NodeJS.Timeout | undefined;
  private poolTimer: NodeJS.Timeout | undefined;
  private pgSamples = 0;
  private pgBusy = false;
  private readonly pgStates = new Map<string, number>();
  private readonly poolSamples: { inUse: number; waiting: number; lagP99: number }[] = [];
  private readonly metrics: HttpClient | undefined;
  private started = 0;

  constructor(
    private readonly opts: { pool: pg.Pool; database: string; groups: CpuGroups; serverPort?: number | undefined },
  ) {
    this.metrics = opts.serverPort === undefined ? undefined : new HttpClient('127.0.0.1', opts.serverPort, { maxSockets: 1, keepAlive: false });
  }

  start(): void {
    this.started = Date.now();
    this.startSnap = cpuSnapshot();
    this.pgTimer = setInterval(() => void this.samplePg(), 100);
    if (this.metrics !== undefined) this.poolTimer = setInterval(() => void this.samplePool(), 500);
  }

  private async samplePg(): Promise<void> {
    if (this.pgBusy) return;
    this.pgBusy = true;
    try {
      const { rows } = await this.opts.pool.query<{ state: string | null; wait: string | null; n: number }>(
        `SELECT state, wait_event_type || ':' || wait_event AS wait, count(*)::int AS n
           FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
            AND coalesce(application_name, '') <> 'marquee-bench'
          GROUP BY 1, 2`,
        [this.opts.database],
      );
      this.pgSamples++;
      for (const r of rows) {
        const state = r.state ?? 'unknown';
        const key = state === 'active' ? `active ${r.wait ?? 'running (CPU)'}` : state;
        this.pgStates.set(key, (this.pgStates.get(key) ?? 0) + r.n);
      }
    } catch {
      // a sample lost is not a problem
    } finally {
      this.pgBusy = false;
    }
  }

  private async samplePool(): Promise<void> {
    if (this.metrics === undefined) return;
    try {
      const r = await this.metrics.request('GET', '/metrics', { keepBody: true, timeoutMs: 2000 });
      const text = r.body.toString('utf8');
      const read = (state: string) => Number(new RegExp(`^db_pool_connections\\{state="${state}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 'NaN');
      const inUse = read('in_use');
      const waiting = read('waiting');
      // prom-client's default metric: p99 of the event-loop delay since the previous scrape.
      const lagP99 = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text)?.[1] ?? 'NaN') * 1000;
      if (Number.isFinite(inUse) && Number.isFinite(waiting)) this.poolSamples.push({ inUse, waiting, lagP99 });
    } catch {
      // the server was too busy to answer in time: skip the sample
    }
  }

  stop(): PhaseResources {
    if (this.pgTimer !== undefined) clearInterval(this.pgTimer);
    if (this.poolTimer !== undefined) clearInterval(this.poolTimer);
    this.metrics?.close();
    const end = cpuSnapshot();
    const cpu = this.startSnap === undefined ? {} : cpuSplit(this.startSnap, end, this.opts.groups);
    const pgBackends = Object.fromEntries(
      [...this.pgStates]
        .map(([k, v]) => [k, Math.round((v / Math.max(1, this.pgSamples)) * 100) / 100] as const)
        .filter(([, v]) => v >= 0.01)
        .sort((a, b) => b[1] - a[1]),
    );
    const res: PhaseResources = { seconds: Math.round((Date.now() - this.started) / 100) / 10, cpu, pgBackends };
    if (this.poolSamples.length > 0) {
      const n = this.poolSamples.length;
      res.pool = {
        samples: n,
        avgInUse: Math.round((this.poolSamples.reduce((a, s) => a + s.inUse, 0) / n) * 10) / 10,
        avgWaiting: Math.round((this.poolSamples.reduce((a, s) => a + s.waiting, 0) / n) * 10) / 10,
        maxWaiting: Math.max(...this.poolSamples.map((s) => s.waiting)),
        eventLoopLagP99Ms: null,
      };
      const lags = this.poolSamples.map((s) => s.lagP99).filter((v) => Number.isFinite(v));
      if (lags.length > 0) {
        res.pool.eventLoopLagP99Ms = { avg: Math.round(lags.reduce((a, b) => a + b, 0) / lags.length), max: Math.round(Math.max(...lags)) };
      }
    }
    return res;
  }
}

/** One line for the console: "cpu server 61% postgres 22% loadgen 15% idle 2% | pg: active running 3.1, …". */
export function describeResources(r: PhaseResources): string {
  const cpu = Object.entries(r.cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}%`)
    .join(' ');
  const backends = Object.entries(r.pgBackends)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lag = r.pool?.eventLoopLagP99Ms;
  const pool =
    r.pool === undefined
      ? ''
      : ` | pool in use ${r.pool.avgInUse}, waiting ${r.pool.avgWaiting} (max ${r.pool.maxWaiting})` + (lag == null ? '' : ` | event-loop delay p99 ${lag.avg} ms (max ${lag.max})`);
  return `cpu: ${cpu} | pg backends: ${backends || '-'}${pool}`;
}

export function lagText(lag: { avg: number; max: number } | null): string {
  return lag === null ? '' : `; loop delay p99 avg ${lag.avg} ms, max ${lag.max} ms`;
}
