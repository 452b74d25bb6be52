/**
 * Steady booking: `concurrency` closed loops hold 1–4 random free seats of a random show
 * among many (low contention: the generator never offers a seat twice), each as a random
 * user among many. The SQL ceiling runs the same holds through the booking service's hold()
 * in-process (bench/children/ceiling-worker.ts) at the same concurrency and with as many
 * database connections, on its own shows of the same shape; the report prints API/ceiling.
 */
import { performance } from 'node:perf_hooks';
import { readyMessage, resultMessage } from '../lib/ceiling-protocol.ts';
import { endChildren, forkChild, nextMessage } from '../lib/children.ts';
import { answerKey, errorKey, HttpClient } from '../lib/http.ts';
import { closedLoop, randomInt, withProgress } from '../lib/load.ts';
import { describeResources, lagText, type PhaseResources } from '../lib/monitor.ts';
import type { Report } from '../lib/report.ts';
import type { BenchUser } from '../lib/seed.ts';
import { EndpointStats, round, Samples, summarise, type LatencySummary } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

export interface HoldRun {
  config: string;
  kind: 'api' | 'ceiling';
  concurrency: number;
  dbConnections: number;
  processes: number;
  shows: number;
  seatsOffered: number;
  seconds: number;
  stoppedEarly: boolean;
  holds: number;
  holdsPerSec: number;
  latency: LatencySummary;
  answers: Record<string, number>;
  resources: PhaseResources;
}

/** Free seats per show, handed out so that no seat is offered twice. */
class SeatPool {
  private readonly open: string[];
  left: number;

  constructor(private readonly free: Map<string, string[]>) {
    this.open = [...free.keys()];
    this.left = [...free.values()].reduce((n, l) => n + l.length, 0);
  }

  take(): { showId: string; seatIds: string[] } | undefined {
    while (this.open.length > 0) {
      const i = randomInt(this.open.length);
      const showId = this.open[i] as string;
      const list = this.free.get(showId) ?? [];
      if (list.length === 0) {
        this.open.splice(i, 1);
        continue;
      }
      const seatIds = list.splice(0, 1 + randomInt(4));
      this.left -= seatIds.length;
      return { showId, seatIds };
    }
    return undefined;
  }

  get empty(): boolean {
    return this.open.length === 0;
  }
}

export async function runSteady(ctx: ScenarioContext, seats: Map<string, string[]>, users: BenchUser[]): Promise<HoldRun> {
  const st = ctx.settings.steady;
  const pool = new SeatPool(seats);
  const offered = pool.left;
  const http = new HttpClient('127.0.0.1', ctx.server.port, { maxSockets: st.concurrency });
  await http.prewarm(st.concurrency);
  const stats = new EndpointStats();
  const monitor = ctx.monitor();
  let started = false;
  const window = await withProgress(
    `steady holds ${ctx.config}`,
    () => `holds ${stats.answers.get('201') ?? 0}  seats left ${pool.left}`,
    () =>
      closedLoop({
        concurrency: st.concurrency,
        warmupMs: st.warmupMs,
        durationMs: st.durationMs,
        stopWhen: () => pool.empty,
        iteration: async (_vu, measured) => {
          if (measured && !started) {
            started = true;
            monitor.start();
          }
          const body = pool.take();
          if (body === undefined) return;
          const user = users[randomInt(users.length)];
          if (user === undefined) return;
          const t = performance.now();
          try {
            const r = await http.request('POST', '/api/v1/bookings', { headers: { authorization: `Bearer ${user.token}` }, json: body, keepBody: true });
            if (measured) stats.record(answerKey(r.status, r.status >= 400 ? r.body : undefined), performance.now() - t);
          } catch (err) {
            if (measured) stats.record(errorKey(err), performance.now() - t);
          }
        },
      }),
  );
  const resources = monitor.stop();
  http.close();
  const seconds = window.ms / 1000;
  const holds = stats.answers.get('201') ?? 0;
  const run: HoldRun = {
    config: ctx.config,
    kind: 'api',
    concurrency: st.concurrency,
    dbConnections: ctx.settings.server.dbPoolMax * ctx.server.workers,
    processes: ctx.server.workers,
    shows: seats.size,
    seatsOffered: offered,
    seconds: round(seconds, 3),
    stoppedEarly: window.stoppedEarly,
    holds,
    holdsPerSec: round(holds / seconds, 1),
    latency: stats.toJSON().latency,
    answers: stats.toJSON().answers,
    resources,
  };
  ctx.log(`steady holds (API), ${ctx.config}: ${run.holdsPerSec} holds/s, p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms, answers ${JSON.stringify(run.answers)}${run.stoppedEarly ? ' (ran out of seats)' : ''}`);
  ctx.log(`  ${describeResources(resources)}`);
  return run;
}

export async function runCeiling(ctx: ScenarioContext, showIds: string[], users: BenchUser[]): Promise<HoldRun> {
  const st = ctx.settings.steady;
  const processes = ctx.server.workers;
  const poolMax = ctx.settings.server.dbPoolMax;
  const children = Array.from({ length: processes }, () => forkChild('ceiling-worker.ts'));
  try {
    let offered = 0;
    await Promise.all(
      children.map(async (child, i) => {
        const ready = nextMessage(child, readyMessage);
        child.send({
          type: 'init',
          databaseUrl: ctx.db.url,
          poolMax,
          holdTtlSeconds: ctx.settings.server.holdTtlSeconds,
          maxPendingHoldsPerUser: ctx.settings.server.maxPendingHoldsPerUser,
          maxSeatsPerUserPerShow: ctx.settings.server.maxSeatsPerUserPerShow,
          reholdCooldownSeconds: ctx.settings.server.reholdCooldownSeconds,
          userIds: users.map((u) => u.id),
          showIds: showIds.filter((_, j) => j % processes === i),
          // the same total concurrency as the API run, shared out
          concurrency: Math.floor(st.concurrency / processes) + (i < st.concurrency % processes ? 1 : 0),
          warmupMs: st.warmupMs,
          durationMs: st.durationMs,
        });
        offered += (await ready).seats;
      }),
    );
    const startAt = Date.now() + 300;
    const monitor = ctx.monitor({ ceiling: children.map((c) => c.pid ?? -1) });
    const results = children.map((c) => nextMessage(c, resultMessage));
    for (const c of children) c.send({ type: 'start', startAt });
    setTimeout(() => monitor.start(), Math.max(0, startAt + st.warmupMs - Date.now())).unref();
    const t0 = performance.now();
    const done = await withProgress(`SQL ceiling ${ctx.config}`, () => `running ${((performance.now() - t0) / 1000).toFixed(0)} s`, () => Promise.all(results));
    const resources = monitor.stop();
    const latency = new Samples();
    const answers: Record<string, number> = {};
    let windowMs = 0;
    let stoppedEarly = false;
    for (const r of done) {
      latency.addAll(r.latencies);
      for (const [k, v] of Object.entries(r.answers)) answers[k] = (answers[k] ?? 0) + v;
      windowMs = Math.max(windowMs, r.windowMs);
      stoppedEarly ||= r.stoppedEarly;
    }
    const seconds = windowMs / 1000;
    const holds = answers['201'] ?? 0;
    const run: HoldRun = {
      config: ctx.config,
      kind: 'ceiling',
      concurrency: st.concurrency,
      dbConnections: poolMax * processes,
      processes,
      shows: showIds.length,
      seatsOffered: offered,
      seconds: round(seconds, 3),
      stoppedEarly,
      holds,
      holdsPerSec: round(holds / seconds, 1),
      latency: summarise(latency),
      answers,
      resources,
    };
    ctx.log(`SQL ceiling (hold() in ${processes} process${processes > 1 ? 'es' : ''}), ${ctx.config}: ${run.holdsPerSec} holds/s, p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms, answers ${JSON.stringify(answers)}`);
    ctx.log(`  ${describeResources(resources)}`);
    return run;
  } finally {
    await endChildren(children);
  }
}

export function reportSteady(report: Report, api: HoldRun | undefined, ceiling: HoldRun | undefined): void {
  for (const r of [api, ceiling]) {
    if (r === undefined) continue;
    const sc = r.kind === 'api' ? 'steady' : 'ceiling';
    const answers = Object.entries(r.answers).map(([k, v]) => `${k}: ${v}`).join(', ');
    report.add({
      scenario: sc,
      config: r.config,
      metric: 'holds/s',
      value: `${r.holdsPerSec} (${r.concurrency} concurrent, ${r.dbConnections} db conns, ${r.shows} shows)${r.stoppedEarly ? ' — ran out of seats early' : ''}`,
    });
    report.add({ scenario: sc, config: r.config, metric: 'hold p50/p95/p99', value: `${r.latency.p50Ms} / ${r.latency.p95Ms} / ${r.latency.p99Ms} ms; ${answers}` });
    report.add({ scenario: sc, config: r.config, metric: 'cpu (% of machine)', value: Object.entries(r.resources.cpu).map(([k, v]) => `${k} ${v}`).join(', ') });
    report.add({ scenario: sc, config: r.config, metric: 'pg backends (avg)', value: Object.entries(r.resources.pgBackends).slice(0, 4).map(([k, v]) => `${k} ${v}`).join(', ') });
    if (r.resources.pool !== undefined) report.add({ scenario: sc, config: r.config, metric: 'server pool in use / waiting (avg); event-loop delay p99', value: `${r.resources.pool.avgInUse} / ${r.resources.pool.avgWaiting} (max waiting ${r.resources.pool.maxWaiting})${lagText(r.resources.pool.eventLoopLagP99Ms)}` });
  }
  if (api !== undefined && ceiling !== undefined) {
    report.check('steady', api.config, 'API / SQL-ceiling holds/s', round(api.holdsPerSec / ceiling.holdsPerSec, 3), '', { op: '>=', limit: 0.5 });
  }
}
