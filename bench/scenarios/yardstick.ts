/**
 * The shared flash-sale yardstick (../shared/perf): Marquee beside the bare reference server,
 * and two Marquee-only sales measured with the same black-box tool.
 *
 *   compare   node ../shared/perf/compare.mjs: both servers, same PostgreSQL, same seeds;
 *             ratios and the issue's targets (c1, c50, c200, open400, big)
 *   pay200    the 2,000-buyer sale with PAYMENT_SIM_LATENCY_MS=200: confirmed bookings per
 *             second against what a pool held across the payment would allow
 *             (DB_POOL_MAX / 0.2 s)
 *   workers   the 2,000-buyer sale with WORKERS=1, then WORKERS=2: two processes must sell
 *             out at least as fast as one
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchDatabase } from '../lib/database.ts';
import { freePort, ROOT, startServer } from '../lib/procs.ts';
import type { Report } from '../lib/report.ts';

export const PERF_DIR = path.resolve(ROOT, '..', 'shared', 'perf');

export interface YardstickContext {
  /** A URL of the PostgreSQL whose role may create databases (compare.mjs makes its own). */
  adminUrl: string;
  createDatabase: (name: string) => Promise<BenchDatabase>;
  quick: boolean;
  log: (m: string) => void;
  /** DB_POOL_MAX the Marquee servers run with (their default unless the bench was told otherwise). */
  poolMax: number;
}

type Figures = Record<string, number>;

interface CompareFile {
  results?: Record<string, { reference?: { medians?: Figures }; marquee?: { medians?: Figures } }>;
  [k: string]: unknown;
}

export interface CompareRun {
  configs: string[];
  runs: number;
  exitCode: number | null;
  /** compare.mjs's printed tables (stdout), kept verbatim. */
  text: string;
  result: CompareFile | undefined;
}

export interface SaleRun {
  label: string;
  env: Record<string, string>;
  medians: Figures;
  toolExit: number | null;
}

function runNode(args: string[], log: (m: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') log(`  ${line}`);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      relay(chunk);
    });
    child.stderr.on('data', relay);
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, text }));
  });
}

function requirePerf(): void {
  if (!existsSync(path.join(PERF_DIR, 'compare.mjs'))) {
    throw new Error(`the yardstick is missing: ${PERF_DIR}/compare.mjs (it lives in ../shared/perf beside the project)`);
  }
}

/** compare.mjs on the same PostgreSQL: every configuration (3 runs each), or c1 and c50 once in quick mode. */
export async function runCompare(ctx: YardstickContext, stamp: string): Promise<CompareRun> {
  requirePerf();
  const configs = ctx.quick ? ['c1', 'c50'] : ['c1', 'c50', 'c200', 'open400', 'big'];
  const runs = ctx.quick ? 1 : 3;
  const out = path.join(tmpdir(), `marquee-bench-compare-${stamp}.json`);
  ctx.log(`compare: ${configs.join(', ')} × ${runs} run(s), Marquee beside the reference (about ${ctx.quick ? 2 : 8} minutes)`);
  const { code, text } = await runNode(
    [path.join(PERF_DIR, 'compare.mjs'), '--project', ROOT, '--database-url', ctx.adminUrl, '--configs', configs.join(','), '--runs', String(runs), '--out', out],
    ctx.log,
  );
  let result: CompareFile | undefined;
  if (existsSync(out)) {
    result = JSON.parse(readFileSync(out, 'utf8')) as CompareFile;
    rmSync(out, { force: true });
  }
  return { configs, runs, exitCode: code, text, result };
}

/** Starts Marquee as `npm start` would on a fresh database and sells one show with ../shared/perf/flashsale.mjs. */
async function marqueeSale(ctx: YardstickContext, label: string, extraEnv: Record<string, string>, saleArgs: string[]): Promise<SaleRun> {
  requirePerf();
  const db = await ctx.createDatabase(`marquee_bench_${label.replace(/\W/g, '')}_${randomBytes(3).toString('hex')}`);
  const admin = { email: 'bench-sale-admin@example.com', password: randomBytes(12).toString('base64url') };
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    PAYMENT_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    HOLD_TTL_SECONDS: '600',
    AUTH_RATE_LIMIT_PER_MINUTE: '0',
    REGISTER_RATE_LIMIT_PER_HOUR: '0',
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const workers = Number(env['WORKERS'] ?? '1');
  const out = path.join(tmpdir(), `marquee-bench-sale-${label}-${randomBytes(3).toString('hex')}.json`);
  const server = await startServer({ workers, port: await freePort(3300), env: { ...env, DATABASE_URL: db.url } });
  try {
    ctx.log(`${label}: ${Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`).join(' ')}; flashsale ${saleArgs.join(' ')}`);
    const { code } = await runNode(
      [path.join(PERF_DIR, 'flashsale.mjs'), '--target', 'marquee', '--base-url', `http://127.0.0.1:${server.port}`, '--admin-email', admin.email, '--admin-password', admin.password, ...saleArgs, '--warmup', '--quiet', '--out', out],
      ctx.log,
    );
    if (!existsSync(out)) throw new Error(`${label}: the sale tool wrote no result (exit ${String(code)})`);
    const parsed = JSON.parse(readFileSync(out, 'utf8')) as { medians?: Figures };
    return { label, env: extraEnv, medians: parsed.medians ?? {}, toolExit: code };
  } finally {
    rmSync(out, { force: true });
    await server.stop();
    await db.close(false);
  }
}

const BIG = ['--buyers', '2000', '--seats', '500', '--mode', 'closed', '--concurrency', '200', '--seed', '2500'];

/** The 2,000-buyer sale with 200 ms payments: confirmed bookings per second vs the pool bound. */
export async function runPay200(ctx: YardstickContext): Promise<SaleRun> {
  return marqueeSale(ctx, 'pay200', { PAYMENT_SIM_LATENCY_MS: '200' }, [...BIG, '--runs', ctx.quick ? '1' : '3']);
}

/** The 2,000-buyer sale with one server process, then two. */
export async function runWorkers(ctx: YardstickContext): Promise<SaleRun[]> {
  const runs = ctx.quick ? '1' : '3';
  const one = await marqueeSale(ctx, 'workers1', { WORKERS: '1' }, [...BIG, '--runs', runs]);
  const two = await marqueeSale(ctx, 'workers2', { WORKERS: '2' }, [...BIG, '--runs', runs]);
  return [one, two];
}

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? NaN : v);

export function reportCompare(report: Report, run: CompareRun): void {
  const results = run.result?.results ?? {};
  for (const cfg of run.configs) {
    const r = results[cfg];
    if (r === undefined) {
      report.add({ scenario: 'compare', config: cfg, metric: 'error', value: 'no result', target: 'a result', pass: false });
      continue;
    }
    const ref = r.reference?.medians ?? {};
    const mq = r.marquee?.medians ?? {};
    const ratio = (k: string) => num(mq[k]) / num(ref[k]);
    const both = (k: string, unit: string) => `${fmtN(mq[k])} vs ${fmtN(ref[k])}${unit}`;
    const targets: [string, string, '>=' | '<=', number][] =
      cfg === 'c1'
        ? [
            ['seats.p50', ' ms', '<=', 1.5],
            ['hold.p50', ' ms', '<=', 1.5],
            ['confirm.p50', ' ms', '<=', 1.5],
          ]
        : [
            ['holdsPerSec', '/s', '>=', 0.9],
            ['sellOutMs', ' ms', '<=', 1.15],
            ['hold.p99', ' ms', '<=', 1.25],
            ['confirm.p50', ' ms', '<=', 1.25],
          ];
    for (const [k, unit, op, limit] of targets) {
      const v = ratio(k);
      const pass = Number.isFinite(v) && (op === '>=' ? v >= limit : v <= limit);
      report.add({ scenario: 'compare', config: cfg, metric: `${k}: Marquee vs reference (ratio)`, value: `${both(k, unit)} (${fmtN(v)}×)`, target: `${op === '>=' ? '≥' : '≤'} ${limit}×`, pass });
    }
    report.add({ scenario: 'compare', config: cfg, metric: '5xx answers (Marquee)', value: fmtN(mq['errors5xx']), target: '= 0', pass: num(mq['errors5xx']) === 0 });
    report.add({ scenario: 'compare', config: cfg, metric: 'audit clean (Marquee)', value: num(mq['auditOk']) === 1 ? 'yes' : 'no', target: 'yes', pass: num(mq['auditOk']) === 1 });
  }
  report.add({ scenario: 'compare', config: '', metric: 'compare.mjs exit code', value: String(run.exitCode), target: '0 (every target met)', pass: run.exitCode === 0 });
}

export function reportPay200(report: Report, run: SaleRun, poolMax: number): void {
  const m = run.medians;
  const perSec = num(m['bookings']) / (num(m['sellOutMs']) / 1000);
  const bound = poolMax / 0.2;
  report.add({ scenario: 'pay200', config: '1 worker', metric: 'confirmed bookings/s (200 ms payments)', value: fmtN(perSec), target: `> ${fmtN(bound)} (pool of ${poolMax} held across a 200 ms charge)`, pass: perSec > bound });
  report.add({ scenario: 'pay200', config: '1 worker', metric: 'sell-out, confirm p50 / p99', value: `${fmtN(m['sellOutMs'])} ms, ${fmtN(m['confirm.p50'])} / ${fmtN(m['confirm.p99'])} ms` });
  report.add({ scenario: 'pay200', config: '1 worker', metric: '5xx answers, audit', value: `${fmtN(m['errors5xx'])}, ${num(m['auditOk']) === 1 ? 'clean' : 'FAILED'}`, target: '0, clean', pass: num(m['errors5xx']) === 0 && num(m['auditOk']) === 1 });
}

export function reportWorkers(report: Report, runs: SaleRun[]): void {
  const [one, two] = runs;
  if (one === undefined || two === undefined) return;
  for (const r of runs) {
    const m = r.medians;
    report.add({ scenario: 'workers', config: r.env['WORKERS'] === '2' ? '2 workers' : '1 worker', metric: 'big sale: sell-out, holds/s, hold p99', value: `${fmtN(m['sellOutMs'])} ms, ${fmtN(m['holdsPerSec'])}/s, ${fmtN(m['hold.p99'])} ms` });
  }
  const a = num(one.medians['sellOutMs']);
  const b = num(two.medians['sellOutMs']);
  report.add({ scenario: 'workers', config: '2 vs 1', metric: 'sell-out with 2 workers ÷ with 1', value: `${fmtN(b / a)}×`, target: '≤ 1×', pass: b <= a });
}

function fmtN(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '?';
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
