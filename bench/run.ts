/**
 * `npm run bench [-- scenario ...]`: the Marquee benchmark. See bench/README.md.
 *
 * Starts a fresh database (embedded PostgreSQL, or a new database on DATABASE_URL's server),
 * seeds users in bulk and the catalogue through the admin API, then for 1 server process and
 * for WORKERS processes (default: the number of cores) starts `src/main.ts`, runs the chosen
 * scenarios against it, and finally prints one table and writes one JSON per scenario to
 * bench/results/<date>-<scenario>.json.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startPg, type BenchDatabase } from './lib/database.ts';
import { HttpClient } from './lib/http.ts';
import { closedLoop, randomInt } from './lib/load.ts';
import { PhaseMonitor } from './lib/monitor.ts';
import { freePort, startServer, type ServerHandle } from './lib/procs.ts';
import { machineInfo, Report, sourceVersion, writeResult, type SourceVersion } from './lib/report.ts';
import { AdminApi, makeUsers, seedCatalogue, type BenchUser, type Catalogue, type ShowPlan } from './lib/seed.ts';
import { loadSettings, usage, YARDSTICK, type BenchSettings, type ScenarioName } from './lib/settings.ts';
import { fetchSeatMap, prepareBrowseShow, reportBrowse, runBare, runBrowse, type ReadRun } from './scenarios/browse.ts';
import type { ScenarioContext } from './scenarios/context.ts';
import { reportFlash, runFlash, type FlashRun } from './scenarios/flash.ts';
import { reportSteady, runCeiling, runSteady, type HoldRun } from './scenarios/steady.ts';
import { reportCompare, reportPay200, reportWorkers, runCompare, runPay200, runWorkers, type CompareRun, type SaleRun, type YardstickContext } from './scenarios/yardstick.ts';

const started = performance.now();
const clock = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s`;
const log = (m: string) => process.stderr.write(`[bench ${clock()}] ${m}\n`);

interface ConfigResults {
  config: string;
  workers: number;
  flash: FlashRun[];
  browse: ReadRun[];
  browseNotes: string[];
  bare: ReadRun | undefined;
  steady: HoldRun | undefined;
  ceiling: HoldRun | undefined;
  errors: { scenario: string; message: string }[];
  source: SourceVersion;
}

const cleanups: (() => Promise<void>)[] = [];
let cleaning = false;
async function cleanUp(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      log(`clean-up: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping the server and the database`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** The shows one server configuration needs (each configuration has a database of its own). */
function plansFor(settings: BenchSettings): ShowPlan[] {
  const plans: ShowPlan[] = [];
  const want = new Set<ScenarioName>(settings.scenarios);
  plans.push({ key: 'warmup', screen: 'flash' });
  if (want.has('browse') || want.has('bare')) plans.push({ key: 'browse', screen: 'flash' });
  if (want.has('flash')) for (const m of settings.flash.models) plans.push({ key: `flash-${m}`, screen: 'flash' });
  for (const kind of ['steady', 'ceiling'] as const) {
    if (!want.has(kind)) continue;
    for (let j = 0; j < settings.steady.shows; j++) plans.push({ key: `${kind}-${j}`, screen: 'steady' });
  }
  return plans;
}

function showsOf(catalogue: Catalogue, prefix: string): string[] {
  return [...catalogue.shows].filter(([k]) => k.startsWith(prefix)).map(([, id]) => id);
}

/** A couple of seconds of mixed traffic after each start: JIT, pool connections, caches. */
async function warmUp(server: ServerHandle, catalogue: Catalogue, users: BenchUser[], quick: boolean): Promise<void> {
  const warmShow = catalogue.shows.get('warmup') ?? '';
  const map = JSON.parse((await fetchSeatMap(server.port, warmShow)).body.toString()) as { seats: { id: string; status: string }[] };
  const free = map.seats.filter((s) => s.status === 'available').map((s) => s.id);
  const http = new HttpClient('127.0.0.1', server.port, { maxSockets: 16 });
  let i = 0;
  await closedLoop({
    concurrency: 16,
    warmupMs: 0,
    durationMs: quick ? 1000 : 2500,
    iteration: async () => {
      const n = i++ % 4;
      const user = users[randomInt(users.length)];
      if (n === 0 && user !== undefined && free.length > 0) {
        await http
          .request('POST', '/api/v1/bookings', { headers: { authorization: `Bearer ${user.token}` }, json: { showId: warmShow, seatIds: free.splice(0, 1) }, keepBody: true })
          .catch(() => undefined);
      } else if (n === 1) {
        await http.request('GET', '/api/v1/shows?limit=20').catch(() => undefined);
      } else {
        await http.request('GET', `/api/v1/shows/${warmShow}/seats`).catch(() => undefined);
      }
    },
  });
  http.close();
}

async function main(): Promise<number> {
  let settings: BenchSettings;
  try {
    settings = loadSettings(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (process.argv.includes('--help')) {
    console.log(usage());
    return 0;
  }
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const startedAt = new Date().toISOString();
  log(
    `scenarios: ${settings.scenarios.join(', ')}; server configs: ${settings.workersList.map((w) => `${w} worker${w > 1 ? 's' : ''}`).join(', ')}` +
      `; ${settings.quick ? 'QUICK mode' : 'full mode'}; ${settings.cores} cores`,
  );

  const pgServer = await startPg({ databaseUrl: settings.databaseUrl, pgPort: settings.pgPort, log });
  cleanups.push(() => pgServer.stop());

  const jwtSecret = randomBytes(32).toString('base64url');
  const admin = { email: 'bench-admin@example.com', password: randomBytes(12).toString('base64url') };
  const baseEnv: Record<string, string> = {
    NODE_ENV: 'production',
    JWT_SECRET: jwtSecret,
    PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    HOLD_TTL_SECONDS: String(settings.server.holdTtlSeconds),
    MAX_PENDING_HOLDS_PER_USER: String(settings.server.maxPendingHoldsPerUser),
    MAX_SEATS_PER_USER_PER_SHOW: String(settings.server.maxSeatsPerUserPerShow),
    REHOLD_COOLDOWN_SECONDS: String(settings.server.reholdCooldownSeconds),
    AUTH_RATE_LIMIT_PER_MINUTE: '0',
    DB_POOL_MAX: String(settings.server.dbPoolMax),
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    EXPIRY_SWEEP_INTERVAL_MS: String(settings.server.expirySweepIntervalMs),
  };
  const publicEnv = Object.fromEntries(Object.entries(baseEnv).map(([k, v]) => [k, /SECRET|PASSWORD/.test(k) ? '(random, per run)' : v]));
  const want = new Set(settings.scenarios);
  let machine: Record<string, unknown> = {};
  let dbInfo: Record<string, string> = {};
  const databases: string[] = [];

  const results: ConfigResults[] = [];
  const ownScenarios = settings.scenarios.some((s) => !YARDSTICK.includes(s));
  for (const workers of ownScenarios ? settings.workersList : []) {
    const config = `${workers} worker${workers > 1 ? 's' : ''}`;
    const res: ConfigResults = { config, workers, flash: [], browse: [], browseNotes: [], bare: undefined, steady: undefined, ceiling: undefined, errors: [], source: sourceVersion() };
    results.push(res);
    const db: BenchDatabase = await pgServer.createDatabase(`marquee_bench_${stamp.replace(/\D/g, '')}_w${workers}`, log);
    databases.push(db.name);
    dbInfo = db.info;
    machine = machineInfo(db.info);
    log(`fresh database ${db.name} (${db.kind}, PostgreSQL ${db.info['server_version'] ?? '?'}) migrated`);
    const t = performance.now();
    const tag = `w${workers}-${randomBytes(3).toString('hex')}`;
    const flashUsers = want.has('flash') ? await makeUsers(db.pool, { n: settings.flash.buyers, tag: `flash-${tag}`, jwtSecret }) : [];
    const steadyUsers = await makeUsers(db.pool, { n: settings.steady.users, tag: `steady-${tag}`, jwtSecret });
    const ceilingUsers = want.has('ceiling') ? await makeUsers(db.pool, { n: settings.steady.users, tag: `ceiling-${tag}`, jwtSecret }) : [];
    log(`${flashUsers.length + steadyUsers.length + ceilingUsers.length} users made in bulk, with tokens, in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const closeDb = () => db.close(settings.keepDb);
    cleanups.push(closeDb);
    const port = await freePort(settings.basePort);
    log(`starting the server: ${config} on port ${port}`);
    const server = await startServer({ workers, port, env: { ...baseEnv, DATABASE_URL: db.url } }).catch(async (err: unknown) => {
      cleanups.splice(cleanups.indexOf(closeDb), 1);
      await closeDb();
      throw err;
    });
    const stopServer = () => server.stop();
    cleanups.push(stopServer);
    try {
      const ts = performance.now();
      const seedHttp = new HttpClient('127.0.0.1', port, { maxSockets: 8 });
      const api = await AdminApi.signIn(seedHttp, admin.email, admin.password);
      const cat = await seedCatalogue(api, db.pool, {
        flashLayout: { rows: settings.flash.rows, seatsPerRow: settings.flash.seatsPerRow, premiumRows: 3 },
        steadyLayout: { rows: settings.steady.rows, seatsPerRow: settings.steady.seatsPerRow, premiumRows: 2 },
        steadyScreens: settings.steady.screens,
        plans: plansFor(settings),
        progress: (m) => log(`seeding: ${m}`),
      });
      seedHttp.close();
      const browseSeed = cat.shows.get('browse');
      if (browseSeed !== undefined) {
        const seats = (await cat.seatsOf([browseSeed])).get(browseSeed) ?? [];
        await prepareBrowseShow(port, browseSeed, seats, steadyUsers, settings.browse.heldFraction);
      }
      log(`catalogue seeded through the admin API: ${cat.shows.size} shows in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
      await warmUp(server, cat, steadyUsers, settings.quick);
      const ctx: ScenarioContext = {
        settings,
        db,
        server,
        config,
        log,
        monitor: (extra) =>
          new PhaseMonitor({
            pool: db.pool,
            database: db.name,
            groups: { loadgen: process.pid, server: server.pid, postgres: db.postmasterPid, ...extra },
            serverPort: extra === undefined ? server.port : undefined,
          }),
      };
      const attempt = async (scenario: string, fn: () => Promise<void>) => {
        if (server.exited()) {
          res.errors.push({ scenario, message: 'the server had exited' });
          return;
        }
        try {
          await fn();
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          log(`${scenario}, ${config}: FAILED: ${message}`);
          res.errors.push({ scenario, message });
        }
      };
      if (want.has('flash')) {
        for (const model of settings.flash.models) {
          await attempt(`flash/${model}`, async () => {
            res.flash.push(await runFlash(ctx, model, cat.shows.get(`flash-${model}`) ?? '', flashUsers));
          });
        }
      }
      const browseShow = cat.shows.get('browse') ?? '';
      if (want.has('browse')) {
        await attempt('browse', async () => {
          const b = await runBrowse(ctx, browseShow);
          res.browse = b.runs;
          res.browseNotes = b.notes;
        });
      }
      if (want.has('bare')) {
        await attempt('bare', async () => {
          res.bare = await runBare(ctx, browseShow);
        });
      }
      if (want.has('steady')) {
        await attempt('steady', async () => {
          const ids = showsOf(cat, 'steady-');
          res.steady = await runSteady(ctx, await cat.seatsOf(ids), steadyUsers);
        });
      }
      if (want.has('ceiling')) {
        await attempt('ceiling', async () => {
          res.ceiling = await runCeiling(ctx, showsOf(cat, 'ceiling-'), ceilingUsers);
        });
      }
    } finally {
      log(`stopping the server (${config})`);
      await server.stop();
      cleanups.splice(cleanups.indexOf(stopServer), 1);
      const out = server.output().trim();
      if (out !== '') {
        const lines = out.split('\n');
        log(`server output (${config}): ${lines.length} lines at LOG_LEVEL=warn; the last ones:\n${lines.slice(-4).map((l) => l.slice(0, 240)).join('\n')}`);
      }
      cleanups.splice(cleanups.indexOf(closeDb), 1);
      await closeDb();
    }
  }

  // ---- the shared yardstick (../shared/perf): its own servers and databases ---------------
  const yardstick: { compare?: CompareRun; pay200?: SaleRun; workers?: SaleRun[]; errors: { scenario: string; message: string }[] } = { errors: [] };
  const yctx: YardstickContext = {
    adminUrl: pgServer.adminUrl,
    createDatabase: (name) => pgServer.createDatabase(name, log),
    quick: settings.quick,
    log,
    poolMax: settings.server.dbPoolMax,
  };
  const ytry = async (scenario: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${scenario}: FAILED: ${message}`);
      yardstick.errors.push({ scenario, message });
    }
  };
  if (want.has('compare')) await ytry('compare', async () => void (yardstick.compare = await runCompare(yctx, stamp)));
  if (want.has('pay200')) await ytry('pay200', async () => void (yardstick.pay200 = await runPay200(yctx)));
  if (want.has('workers')) await ytry('workers', async () => void (yardstick.workers = await runWorkers(yctx)));

  // ---- the table --------------------------------------------------------------------------
  const report = new Report();
  if (yardstick.compare !== undefined) reportCompare(report, yardstick.compare);
  if (yardstick.pay200 !== undefined) reportPay200(report, yardstick.pay200, settings.server.dbPoolMax);
  if (yardstick.workers !== undefined) reportWorkers(report, yardstick.workers);
  for (const e of yardstick.errors) report.add({ scenario: e.scenario, config: '', metric: 'error', value: e.message.split('\n')[0] ?? '', target: 'no error', pass: false });
  for (const r of results) for (const run of r.flash) reportFlash(report, run);
  for (const r of results) if (r.browse.length > 0 || r.bare !== undefined) reportBrowse(report, r.browse, r.bare, r.browseNotes);
  for (const r of results) if (r.steady !== undefined || r.ceiling !== undefined) reportSteady(report, r.steady, r.ceiling);
  for (const r of results) for (const e of r.errors) report.add({ scenario: e.scenario, config: r.config, metric: 'error', value: e.message.split('\n')[0] ?? '', target: 'no error', pass: false });

  const prints = new Set(results.map((r) => r.source.fingerprint));
  for (const r of results) {
    const dirty = r.source.uncommitted.length > 0 ? ` + ${r.source.uncommitted.length} uncommitted file(s)` : '';
    report.add({ scenario: 'source', config: r.config, metric: 'server code', value: `${r.source.gitHead}${dirty} (content ${r.source.fingerprint})` });
  }
  if (prints.size > 1) {
    report.add({ scenario: 'source', config: '', metric: 'note', value: 'src/ or migrations/ changed during the run: the configurations ran different code' });
  }
  const finishedAt = new Date().toISOString();
  const header = {
    stamp,
    startedAt,
    finishedAt,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    quick: settings.quick,
    machine,
    database: { kind: pgServer.kind, databases, kept: settings.keepDb, ...dbInfo },
    settings,
    serverEnv: publicEnv,
    loadGenerator: 'node:http keep-alive agent in the benchmark process (same machine); latencies by performance.now(), percentiles by nearest rank over every sample',
  };
  const files: string[] = [];
  const scenarioRows = (prefix: string) => report.rows.filter((r) => r.scenario === prefix || r.scenario.startsWith(`${prefix}/`));
  const yardstickData = { compare: yardstick.compare, pay200: yardstick.pay200, workers: yardstick.workers } as const;
  for (const scenario of settings.scenarios) {
    if (YARDSTICK.includes(scenario)) {
      const key = scenario as keyof typeof yardstickData;
      files.push(writeResult(stamp, scenario, { scenario, ...header, results: yardstickData[key] ?? null, table: scenarioRows(scenario), errors: yardstick.errors.filter((e) => e.scenario === scenario) }));
      continue;
    }
    const per = results.map((r) => {
      switch (scenario) {
        case 'flash':
          return { config: r.config, workers: r.workers, source: r.source, runs: r.flash };
        case 'browse':
          return { config: r.config, workers: r.workers, source: r.source, runs: r.browse, notes: r.browseNotes, bareRequestsPerSec: r.bare?.requestsPerSec ?? null };
        case 'bare':
          return { config: r.config, workers: r.workers, source: r.source, run: r.bare ?? null };
        case 'steady':
          return { config: r.config, workers: r.workers, source: r.source, run: r.steady ?? null, ceilingHoldsPerSec: r.ceiling?.holdsPerSec ?? null };
        case 'ceiling':
          return { config: r.config, workers: r.workers, source: r.source, run: r.ceiling ?? null };
        case 'compare':
        case 'pay200':
        case 'workers':
          return null; // written above, once per run
      }
    });
    const errors = results.flatMap((r) => r.errors.filter((e) => e.scenario.startsWith(scenario)).map((e) => ({ config: r.config, ...e })));
    files.push(writeResult(stamp, scenario, { scenario, ...header, results: per, table: scenarioRows(scenario), errors }));
  }

  console.log(`\nMarquee benchmark — ${String(machine['cpuCount'])} × ${String(machine['cpuModel'])}, node ${process.version}, PostgreSQL ${dbInfo['server_version'] ?? '?'} (${pgServer.kind})${settings.quick ? ', QUICK mode' : ''}\n`);
  console.log(report.print());
  console.log(`\nresults: ${files.map((f) => f.replace(/^.*\/bench\//, 'bench/')).join(', ')}`);
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await cleanUp();
  return report.rows.some((r) => r.metric === 'error') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error('benchmark failed:', err);
    await cleanUp();
    process.exit(1);
  },
);
