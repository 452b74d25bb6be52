/**
 * The per-request cost of the HTTP stack, without the flash sale around it:
 *
 *   npx tsx bench/stack.ts [--project DIR] [--seconds 5] [--connections 20] [--rounds 2]
 *                          [--only health,seats,seats304,booking,book] [--floor] [--cpu-prof DIR] [--database-url URL]
 *                          [--flash='ARGS']
 *
 * Starts the server as `npm start` runs it (`node --import tsx src/main.ts` in --project,
 * NODE_ENV=production, default settings, logs to a pipe this process drains) on a fresh
 * database, makes a show and one held booking through the API, then drives each target with
 * `--connections` keep-alive connections in a closed loop (bench/lib/raw-http.ts, a client
 * far cheaper than the server it measures) and prints, per target, requests per second and
 * the server process's own CPU time per request (from /proc/<pid>/stat: what the
 * stack costs, less sensitive than req/s to the load generator and PostgreSQL sharing the
 * cores). Targets: GET /health; a cached seat map (200, and 304 with If-None-Match); a booking
 * read (JWT, session cache, one query); `book`, a hold (POST /bookings, one seat no one else
 * wants) then its confirm, by `--connections` buyers at once (each pair counts as two requests).
 * --project lets one run measure another copy of the tree (the code before a change).
 * --cpu-prof writes a V8 CPU profile of the server to DIR (open it in Chrome DevTools, or
 * summarise it with bench/profile-summary.ts). --floor also measures GET /health on plain
 * node:http and on a lean Express app (bench/children/floor-server.ts) the same way: the floor.
 * --flash='ARGS' runs ../shared/perf/flashsale.mjs with ARGS (e.g. '--buyers 400 --concurrency 50')
 * against the server after the targets, and reports the server's CPU per request of the sale
 * (with --cpu-prof, the profile covers the sale too).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { answerKey, HttpClient, parseJson } from './lib/http.ts';
import { sleep } from './lib/load.ts';
import { freePort, readStat, ROOT } from './lib/procs.ts';
import { getRequest, RawConnection } from './lib/raw-http.ts';
import { AdminApi } from './lib/seed.ts';

const { values: o } = parseArgs({
  options: {
    project: { type: 'string', default: ROOT },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    only: { type: 'string', default: 'health,seats,seats304,booking,book' },
    'cpu-prof': { type: 'string' },
    floor: { type: 'boolean', default: false },
    flash: { type: 'string' },
    'database-url': { type: 'string', default: process.env['PERF_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const project = path.resolve(o.project);
const seconds = Number(o.seconds);
const connections = Number(o.connections);
const rounds = Number(o.rounds);
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

const admin = { email: 'admin@stack.test', password: `stack-${randomBytes(8).toString('hex')}` };
const dbName = `stack_${randomBytes(4).toString('hex')}`;
const dbUrl = (name: string) => {
  const u = new URL(o['database-url']);
  u.pathname = '/' + name;
  return u.toString();
};

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: o['database-url'] });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

interface Result {
  rps: number;
  cpuUs: number;
  statuses: string;
}

/** `connections` keep-alive connections in a closed loop on one request: 1 s warm-up, then `seconds` measured. */
async function measure(port: number, pid: number, path: string, headers: Record<string, string>): Promise<Result> {
  const request = getRequest('127.0.0.1', port, path, headers);
  const conns = Array.from({ length: connections }, () => new RawConnection('127.0.0.1', port));
  const statuses = new Map<number, number>();
  const loop = async (until: number, count: boolean) => {
    await Promise.all(
      conns.map(async (c) => {
        while (performance.now() < until) {
          const r = await c.send(request);
          if (count) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
  };
  await loop(performance.now() + 1000, false);
  const before = readStat(pid)?.ticks ?? 0;
  const t0 = performance.now();
  await loop(t0 + seconds * 1000, true);
  const ms = performance.now() - t0;
  const after = readStat(pid)?.ticks ?? 0;
  for (const c of conns) c.close();
  await sleep(300);
  const n = [...statuses.values()].reduce((a, b) => a + b, 0);
  return { rps: n / (ms / 1000), cpuUs: ((after - before) * TICK_US) / n, statuses: [...statuses].map(([st, k]) => `${st}×${k}`).join(' ') };
}

/**
 * The `book` target: two 2,000-seat shows; each of `connections` buyers (registered through
 * the API) holds one seat at a time, taken from a shared shuffled list so that no two want the
 * same one, and confirms it. node:http client (the answers' bodies are needed).
 */
async function bookingLoad(http: HttpClient, api: AdminApi, movieId: string, theatreId: string, startsAt: string): Promise<(pid: number) => Promise<Result>> {
  const screenId = await api.screen(theatreId, 'Big', { rows: 20, seatsPerRow: 100, premiumRows: 0 });
  const seats: { showId: string; seatId: string }[] = [];
  for (const hours of [3, 6]) {
    const at = new Date(new Date(startsAt).getTime() + hours * 3_600_000).toISOString();
    const showId = await api.post('/shows', { movieId, screenId, startsAt: at, prices: { standard: 1200 } });
    const map = parseJson((await http.request('GET', `/api/v1/shows/${showId}/seats`, { keepBody: true })).body) as { seats: { id: string }[] };
    for (const seat of map.seats) seats.push({ showId, seatId: seat.id });
  }
  for (let i = seats.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [seats[i], seats[j]] = [seats[j] as { showId: string; seatId: string }, seats[i] as { showId: string; seatId: string }];
  }
  const tokens: string[] = [];
  for (let i = 0; i < connections; i++) {
    const r = await http.request('POST', '/api/v1/auth/register', { json: { email: `buyer-${i}@book.test`, password: 'a long password', name: `Buyer ${i}` }, keepBody: true });
    tokens.push((parseJson(r.body) as { accessToken: string }).accessToken);
  }
  const client = new HttpClient(http.host, http.port, { maxSockets: connections });
  return async (pid) => {
    const statuses = new Map<string, number>();
    const note = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const loop = async (until: number, count: boolean) => {
      await Promise.all(
        tokens.map(async (token) => {
          const authorization = `Bearer ${token}`;
          while (performance.now() < until) {
            const seat = seats.pop();
            if (seat === undefined) return;
            const hold = await client.request('POST', '/api/v1/bookings', { json: { showId: seat.showId, seatIds: [seat.seatId] }, headers: { authorization }, keepBody: true });
            if (count) note(`hold ${hold.status}`);
            if (hold.status !== 201) continue;
            const id = (parseJson(hold.body) as { id: string }).id;
            const confirm = await client.request('POST', `/api/v1/bookings/${id}/confirm`, { json: { paymentToken: 'tok_visa' }, headers: { authorization } });
            if (count) note(`confirm ${confirm.status}`);
          }
        }),
      );
    };
    await loop(performance.now() + 1000, false);
    const before = readStat(pid)?.ticks ?? 0;
    const t0 = performance.now();
    await loop(t0 + seconds * 1000, true);
    const ms = performance.now() - t0;
    const after = readStat(pid)?.ticks ?? 0;
    await sleep(300);
    const n = [...statuses.values()].reduce((a, b) => a + b, 0);
    if (seats.length === 0) console.log('# book: the seats ran out; shorten --seconds or --rounds');
    return { rps: n / (ms / 1000), cpuUs: ((after - before) * TICK_US) / n, statuses: [...statuses].map(([st, k]) => `${st}×${k}`).join(' ') };
  };
}

/** GET /health on bench/children/floor-server.ts: plain node:http, or a lean Express app (with res.json, or without). */
async function measureFloor(kind: 'bare' | 'express' | 'express-lean'): Promise<Result> {
  const port = await freePort(4200);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'children', 'floor-server.ts')], {
    cwd: ROOT,
    env: { ...process.env, FLOOR_PORT: String(port), FLOOR_KIND: kind },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      if (b.toString().includes('FLOOR_LISTENING')) resolve();
    });
    child.once('exit', () => reject(new Error('the floor server exited')));
  });
  try {
    return await measure(port, child.pid ?? 0, '/health', {});
  } finally {
    child.kill('SIGTERM');
  }
}

function printTable(results: Record<string, Result[]>): void {
  const median = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
  };
  console.log('| target | req/s (median) | server CPU µs/request (median) | runs: req/s (µs/request) | statuses (last run) |');
  console.log('|---|---|---|---|---|');
  for (const [name, rs] of Object.entries(results)) {
    const runs = rs.map((r) => `${r.rps.toFixed(0)} (${r.cpuUs.toFixed(0)})`).join(', ');
    console.log(`| ${name} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.cpuUs)).toFixed(0)} | ${runs} | ${rs.at(-1)?.statuses ?? ''} |`);
  }
}

/** A flash sale by the shared yardstick's tool against the running server; its summary and the server's CPU per request. */
async function flash(port: number, pid: number, served: () => number): Promise<void> {
  const tool = path.resolve(ROOT, '..', 'shared', 'perf', 'flashsale.mjs');
  const args = [tool, '--target', 'marquee', '--base-url', `http://127.0.0.1:${port}`, '--admin-email', admin.email, '--admin-password', admin.password, '--quiet', ...(o.flash ?? '').split(/\s+/).filter(Boolean)];
  const before = readStat(pid)?.ticks ?? 0;
  const served0 = served();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`flashsale exited ${code}:\n${text}`))));
  });
  const after = readStat(pid)?.ticks ?? 0;
  const n = served() - served0;
  console.log(out.trim());
  console.log(`# flash sale: ${n} requests logged, server CPU ${(((after - before) * TICK_US) / 1000).toFixed(0)} ms = ${(((after - before) * TICK_US) / Math.max(1, n)).toFixed(0)} µs/request (registration included)`);
}

async function main(): Promise<void> {
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const port = await freePort(4100);
  const nodeArgs = ['--import', 'tsx'];
  if (o['cpu-prof'] !== undefined) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${path.resolve(o['cpu-prof'])}`);
  const child = spawn(process.execPath, [...nodeArgs, 'src/main.ts'], {
    cwd: project,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl(dbName),
      JWT_SECRET: randomBytes(32).toString('hex'),
      PAYMENT_WEBHOOK_SECRET: randomBytes(32).toString('hex'),
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      REGISTER_RATE_LIMIT_PER_HOUR: '0',
      // The `book` target has each buyer buy many seats of one show.
      MAX_SEATS_PER_USER_PER_SHOW: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logBytes = 0;
  let tail = '';
  let requestsServed = 0;
  const keep = (b: Buffer) => {
    logBytes += b.length;
    for (let i = b.indexOf('request completed'); i !== -1; i = b.indexOf('request completed', i + 1)) requestsServed++;
    tail = (tail + b.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const pid = child.pid ?? 0;
  const http = new HttpClient('127.0.0.1', port, { maxSockets: 4 });
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`the server exited:\n${tail}`);
      const ok = await http.request('GET', '/ready', { timeoutMs: 2000 }).then((r) => r.status === 200, () => false);
      if (ok) break;
      if (i > 300) throw new Error(`no /ready in 60 s:\n${tail}`);
      await sleep(200);
    }
    const api = await AdminApi.signIn(http, admin.email, admin.password);
    const movieId = await api.post('/movies', { title: 'Stack', durationMinutes: 100, language: 'en', genres: ['drama'] });
    const theatreId = await api.post('/theatres', { name: 'Stack Cinema', city: 'Benchville', address: '1 Load Street' });
    const screenId = await api.screen(theatreId, 'One', { rows: 10, seatsPerRow: 20, premiumRows: 2 });
    const startsAt = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 86_400_000).toISOString();
    const showId = await api.post('/shows', { movieId, screenId, startsAt, prices: { standard: 1200, premium: 1800 } });
    const reg = await http.request('POST', '/api/v1/auth/register', { json: { email: 'buyer@stack.test', password: 'a long password', name: 'Buyer' }, keepBody: true });
    const token = (parseJson(reg.body) as { accessToken: string }).accessToken;
    const seatsRes = await http.request('GET', `/api/v1/shows/${showId}/seats`, { keepBody: true });
    const seats = (parseJson(seatsRes.body) as { seats: { id: string }[] }).seats;
    const hold = await http.request('POST', '/api/v1/bookings', {
      json: { showId, seatIds: seats.slice(0, 2).map((s) => s.id) },
      headers: { authorization: `Bearer ${token}` },
      keepBody: true,
    });
    if (hold.status !== 201) throw new Error(`hold: ${answerKey(hold.status, hold.body)}`);
    const bookingId = (parseJson(hold.body) as { id: string }).id;
    const etag = String((await http.request('GET', `/api/v1/shows/${showId}/seats`)).headers.etag);

    const targets: Record<string, { path: string; headers: Record<string, string> }> = {
      health: { path: '/health', headers: {} },
      seats: { path: `/api/v1/shows/${showId}/seats`, headers: {} },
      seats304: { path: `/api/v1/shows/${showId}/seats`, headers: { 'If-None-Match': etag } },
      booking: { path: `/api/v1/bookings/${bookingId}`, headers: { Authorization: `Bearer ${token}` } },
    };
    const chosen = o.only.split(',').map((s) => s.trim()).filter((s) => s in targets || s === 'book');
    const book = chosen.includes('book') ? await bookingLoad(http, api, movieId, theatreId, startsAt) : undefined;
    console.log(`# stack bench: ${project}, ${connections} connections, ${seconds} s per target, ${rounds} round(s)`);
    const results: Record<string, Result[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const name of chosen) {
        const target = targets[name];
        if (target !== undefined) (results[name] ??= []).push(await measure(port, pid, target.path, target.headers));
        if (name === 'book' && book !== undefined) (results[name] ??= []).push(await book(pid));
      }
      if (o.floor) {
        for (const kind of ['bare', 'express', 'express-lean'] as const) (results[`floor: ${kind}`] ??= []).push(await measureFloor(kind));
      }
    }
    printTable(results);
    if (o.flash !== undefined) await flash(port, pid, () => requestsServed);
    console.log(`# server wrote ${(logBytes / 1024).toFixed(0)} KiB of logs`);
  } finally {
    http.close();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
    await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
