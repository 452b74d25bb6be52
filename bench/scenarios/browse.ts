/**
 * Browse: seat-map and show-list reads at full speed (closed loop, `connections` keep-alive
 * connections), with and without If-None-Match revalidation. Bare: the same seat-map bytes
 * served from memory by plain node:http (bench/children/bare-server.ts), the same load: the
 * reference the seat-map figure is compared with.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { endChildren, forkChild, nextMessage } from '../lib/children.ts';
import { answerKey, HttpClient } from '../lib/http.ts';
import { withProgress } from '../lib/load.ts';
import { describeResources, type PhaseResources } from '../lib/monitor.ts';
import { freePort, startBare } from '../lib/procs.ts';
import type { Report } from '../lib/report.ts';
import type { BenchUser } from '../lib/seed.ts';
import { readReady, readResult } from '../lib/read-protocol.ts';
import { EndpointStats, round, type LatencySummary } from '../lib/stats.ts';
import type { ScenarioContext } from './context.ts';

export interface ReadRun {
  config: string;
  name: string;
  target: 'marquee' | 'bare';
  path: string;
  ifNoneMatch: string | null;
  connections: number;
  /** Load-generator processes the connections were spread over. */
  loadProcesses: number;
  seconds: number;
  requests: number;
  requestsPerSec: number;
  mbPerSec: number;
  latency: LatencySummary;
  answers: Record<string, number>;
  resources: PhaseResources;
}

async function readPhase(
  ctx: ScenarioContext,
  opts: { name: string; target: 'marquee' | 'bare'; port: number; path: string; ifNoneMatch?: string | undefined; extraGroups?: Record<string, number> },
): Promise<ReadRun> {
  const b = ctx.settings.browse;
  const procs = Math.max(1, Math.min(b.loadgenProcesses, b.connections));
  const children = Array.from({ length: procs }, () => forkChild('read-load.ts'));
  try {
    await Promise.all(
      children.map((child, i) => {
        const ready = nextMessage(child, readReady);
        child.send({
          type: 'init',
          port: opts.port,
          path: opts.path,
          headers: opts.ifNoneMatch === undefined ? {} : { 'if-none-match': opts.ifNoneMatch },
          connections: Math.floor(b.connections / procs) + (i < b.connections % procs ? 1 : 0),
          warmupMs: b.warmupMs,
          durationMs: b.durationMs,
        });
        return ready;
      }),
    );
    const monitor = ctx.monitor(opts.extraGroups);
    const startAt = Date.now() + 200;
    const results = children.map((c) => nextMessage(c, readResult));
    for (const c of children) c.send({ type: 'start', startAt });
    setTimeout(() => monitor.start(), Math.max(0, startAt + b.warmupMs - Date.now())).unref();
    const t0 = performance.now();
    const done = await withProgress(`${opts.name} ${ctx.config}`, () => `${procs} load processes, ${((performance.now() - t0) / 1000).toFixed(0)} s`, () => Promise.all(results));
    const resources = monitor.stop();
    const stats = new EndpointStats();
    let bytes = 0;
    let windowMs = 0;
    for (const r of done) {
      stats.latency.addAll(r.latencies);
      for (const [k, v] of Object.entries(r.answers)) stats.answers.set(k, (stats.answers.get(k) ?? 0) + v);
      bytes += r.bytes;
      windowMs = Math.max(windowMs, r.windowMs);
    }
    const seconds = windowMs / 1000;
    const report = stats.toJSON();
    const run: ReadRun = {
      config: ctx.config,
      name: opts.name,
      target: opts.target,
      path: opts.path,
      ifNoneMatch: opts.ifNoneMatch ?? null,
      connections: b.connections,
      loadProcesses: procs,
      seconds: round(seconds, 3),
      requests: stats.latency.count,
      requestsPerSec: round(stats.latency.count / seconds, 1),
      mbPerSec: round(bytes / seconds / 1048576, 2),
      latency: report.latency,
      answers: report.answers,
      resources,
    };
    ctx.log(`${opts.name}, ${ctx.config}: ${run.requestsPerSec} req/s, p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms, answers ${JSON.stringify(run.answers)}`);
    ctx.log(`  ${describeResources(resources)}`);
    return run;
  } finally {
    await endChildren(children);
  }
}

/** Holds (and pays for half of) a share of the browse show's seats, so the map has every status. */
export async function prepareBrowseShow(port: number, showId: string, seatIds: string[], users: BenchUser[], fraction: number): Promise<void> {
  const http = new HttpClient('127.0.0.1', port, { maxSockets: 8 });
  const n = Math.floor(seatIds.length * fraction);
  const groups: string[][] = [];
  for (let i = 0; i < n; i += 4) groups.push(seatIds.slice(i, Math.min(n, i + 4)));
  await Promise.all(
    groups.map(async (seats, i) => {
      const user = users[i % users.length];
      if (user === undefined) return;
      const auth = { authorization: `Bearer ${user.token}` };
      const r = await http.request('POST', '/api/v1/bookings', { headers: auth, json: { showId, seatIds: seats }, keepBody: true });
      if (r.status !== 201) throw new Error(`browse show hold → ${answerKey(r.status, r.body)}`);
      if (i % 2 === 0) {
        const { id } = JSON.parse(r.body.toString()) as { id: string };
        await http.request('POST', `/api/v1/bookings/${id}/confirm`, { headers: auth, json: { paymentToken: 'tok_visa' } });
      }
    }),
  );
  http.close();
}

/** The seat map as the API sends it: body and ETag. */
export async function fetchSeatMap(port: number, showId: string): Promise<{ body: Buffer; etag: string }> {
  const http = new HttpClient('127.0.0.1', port, { maxSockets: 1 });
  const r = await http.request('GET', `/api/v1/shows/${showId}/seats`, { keepBody: true });
  http.close();
  if (r.status !== 200) throw new Error(`seat map → ${r.status}`);
  return { body: r.body, etag: typeof r.headers.etag === 'string' ? r.headers.etag : '"none"' };
}

export interface BrowseResult {
  runs: ReadRun[];
  notes: string[];
}

export async function runBrowse(ctx: ScenarioContext, showId: string): Promise<BrowseResult> {
  const port = ctx.server.port;
  const map = await fetchSeatMap(port, showId);
  const seatPath = `/api/v1/shows/${showId}/seats`;
  const listPath = `/api/v1/shows?limit=${ctx.settings.browse.listLimit}`;
  const runs: ReadRun[] = [];
  const notes: string[] = [];
  runs.push(await readPhase(ctx, { name: 'seat map', target: 'marquee', port, path: seatPath }));
  runs.push(await readPhase(ctx, { name: 'seat map, If-None-Match', target: 'marquee', port, path: seatPath, ifNoneMatch: map.etag }));
  runs.push(await readPhase(ctx, { name: 'show list', target: 'marquee', port, path: listPath }));
  const probe = new HttpClient('127.0.0.1', port, { maxSockets: 1 });
  const list = await probe.request('GET', listPath);
  probe.close();
  const listTag = list.headers.etag;
  if (typeof listTag === 'string') {
    runs.push(await readPhase(ctx, { name: 'show list, If-None-Match', target: 'marquee', port, path: listPath, ifNoneMatch: listTag }));
  } else {
    notes.push('GET /shows sends no ETag, so the show list cannot be revalidated (If-None-Match has nothing to match).');
    ctx.log('show list: no ETag in the answer, so no revalidation phase');
  }
  return { runs, notes };
}

export async function runBare(ctx: ScenarioContext, showId: string): Promise<ReadRun> {
  const map = await fetchSeatMap(ctx.server.port, showId);
  const file = path.join(os.tmpdir(), `marquee-bench-seatmap-${process.pid}.json`);
  writeFileSync(file, map.body);
  const port = await freePort(ctx.server.port + 1);
  const bare = await startBare({ workers: ctx.server.workers, port, bodyFile: file, etag: map.etag });
  try {
    return await readPhase(ctx, { name: 'bare seat map', target: 'bare', port, path: `/api/v1/shows/${showId}/seats`, extraGroups: { bare: bare.pid } });
  } finally {
    await bare.stop();
  }
}

export function reportBrowse(report: Report, runs: ReadRun[], bare: ReadRun | undefined, notes: string[]): void {
  for (const r of [...runs, ...(bare === undefined ? [] : [bare])]) {
    const sc = r.target === 'bare' ? 'bare' : 'browse';
    const answers = Object.entries(r.answers).map(([k, v]) => `${k}: ${v}`).join(', ');
    report.add({ scenario: sc, config: r.config, metric: `${r.name} req/s`, value: `${r.requestsPerSec} (${r.mbPerSec} MB/s, ${r.connections} conns from ${r.loadProcesses} load processes)` });
    report.add({ scenario: sc, config: r.config, metric: `${r.name} p50/p95/p99`, value: `${r.latency.p50Ms} / ${r.latency.p95Ms} / ${r.latency.p99Ms} ms; ${answers}` });
    report.add({ scenario: sc, config: r.config, metric: `${r.name} cpu (% of machine)`, value: Object.entries(r.resources.cpu).map(([k, v]) => `${k} ${v}`).join(', ') });
  }
  for (const n of notes) report.add({ scenario: 'browse', config: runs[0]?.config ?? '', metric: 'note', value: n });
  const seat = runs.find((r) => r.name === 'seat map');
  if (seat !== undefined && bare !== undefined) {
    report.check('browse', seat.config, 'seat-map / bare req/s', round(seat.requestsPerSec / bare.requestsPerSec, 3), '', { op: '>=', limit: 0.5 });
  }
}
