/** Benchmark settings: defaults, quick mode (BENCH_QUICK=1) and environment overrides. */
import { availableParallelism } from 'node:os';

export const SCENARIOS = ['flash', 'browse', 'steady', 'ceiling', 'bare', 'compare', 'pay200', 'workers'] as const;
/** Scenarios of the shared yardstick (../shared/perf): each starts its own servers, once per run. */
export const YARDSTICK: readonly ScenarioName[] = ['compare', 'pay200', 'workers'];
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchSettings {
  quick: boolean;
  scenarios: ScenarioName[];
  /** Server configurations run, in order: 1 worker, then all workers. */
  workersList: number[];
  cores: number;
  databaseUrl: string | undefined;
  pgPort: number;
  basePort: number;
  keepDb: boolean;
  server: { dbPoolMax: number; holdTtlSeconds: number; maxPendingHoldsPerUser: number; maxSeatsPerUserPerShow: number; reholdCooldownSeconds: number; expirySweepIntervalMs: number };
  flash: {
    buyers: number;
    rows: number;
    seatsPerRow: number;
    maxSeatsPerBuyer: number;
    /** Open model: buyers arriving per second. */
    openRatePerSec: number;
    maxSeconds: number;
    maxAttemptsPerBuyer: number;
    models: ('closed' | 'open')[];
  };
  browse: { connections: number; loadgenProcesses: number; warmupMs: number; durationMs: number; listLimit: number; heldFraction: number };
  steady: { concurrency: number; warmupMs: number; durationMs: number; users: number; shows: number; screens: number; rows: number; seatsPerRow: number };
}

function int(name: string, def: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number ≥ ${min} (got ${raw})`);
  return Math.floor(v);
}

function flag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && ['1', 'true', 'yes'].includes(v.toLowerCase());
}

export function usage(): string {
  return [
    'usage: npm run bench [-- scenario ...]',
    `  scenarios: ${SCENARIOS.join(', ')} (default: all; steady brings ceiling, browse brings bare, for the ratios)`,
    '  BENCH_QUICK=1 shorter phases; WORKERS=N server processes for the "all workers" run (default: cores)',
    '  DATABASE_URL=… use that PostgreSQL (a fresh database is created on it) instead of the embedded one',
    '  see bench/README.md for every setting',
  ].join('\n');
}

export function loadSettings(argv: string[]): BenchSettings {
  const unknown = argv.filter((a) => !(SCENARIOS as readonly string[]).includes(a));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${usage()}`);
  const asked = new Set(argv as ScenarioName[]);
  if (asked.size === 0) for (const s of SCENARIOS) asked.add(s);
  // The ratios need their reference measured in the same run.
  if (asked.has('steady')) asked.add('ceiling');
  if (asked.has('browse')) asked.add('bare');
  const scenarios = SCENARIOS.filter((s) => asked.has(s));

  const quick = flag('BENCH_QUICK');
  const cores = availableParallelism();
  const allWorkers = int('WORKERS', cores, 1);
  const workersList = allWorkers > 1 ? [1, allWorkers] : [1];
  const dbUrl = process.env['DATABASE_URL'];

  const browseMs = int('BENCH_BROWSE_SECONDS', quick ? 3 : 8, 1) * 1000;
  const steadyMs = int('BENCH_STEADY_SECONDS', quick ? 5 : 15, 1) * 1000;
  return {
    quick,
    scenarios,
    workersList,
    cores,
    databaseUrl: dbUrl === undefined || dbUrl === '' ? undefined : dbUrl,
    pgPort: int('BENCH_PG_PORT', 54349, 1),
    basePort: int('BENCH_PORT', 4100, 1),
    keepDb: flag('BENCH_KEEP_DB'),
    server: {
      dbPoolMax: int('DB_POOL_MAX', 20, 1),
      holdTtlSeconds: 3600,
      // steady holds pile up (nobody pays): keep the per-user limit out of the way
      maxPendingHoldsPerUser: 1000,
      // the anti-hoarding defaults, set explicitly so the SQL ceiling does the same checks
      maxSeatsPerUserPerShow: 10,
      reholdCooldownSeconds: 60,
      expirySweepIntervalMs: 5000,
    },
    flash: {
      buyers: int('BENCH_FLASH_BUYERS', 2000, 1),
      rows: 20,
      seatsPerRow: 25,
      maxSeatsPerBuyer: 4,
      openRatePerSec: int('BENCH_FLASH_RATE', 200, 1),
      maxSeconds: int('BENCH_FLASH_MAX_SECONDS', quick ? 60 : 120, 5),
      maxAttemptsPerBuyer: 50,
      models: ['closed', 'open'],
    },
    browse: {
      connections: int('BENCH_BROWSE_CONNECTIONS', 32, 1),
      // one load process saturates a core long before a bare node:http server does
      loadgenProcesses: int('BENCH_LOADGEN_PROCESSES', Math.min(2, cores), 1),
      warmupMs: quick ? 500 : 1000,
      durationMs: browseMs,
      listLimit: 20,
      heldFraction: 0.2,
    },
    steady: {
      concurrency: int('BENCH_CONCURRENCY', 32, 1),
      warmupMs: quick ? 1000 : 2000,
      durationMs: steadyMs,
      users: int('BENCH_STEADY_USERS', 2000, 1),
      shows: int('BENCH_STEADY_SHOWS', quick ? 40 : 100, 1),
      screens: 10,
      rows: 16,
      seatsPerRow: 25,
    },
  };
}
