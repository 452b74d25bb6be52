/**
 * Processes the benchmark starts (the Marquee server, the bare reference, the SQL-ceiling
 * workers), free ports, and CPU accounting from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HttpClient } from './http.ts';
import { sleep } from './load.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BENCH_DIR = path.join(ROOT, 'bench');

const RESERVED = new Set([3000, 3100, 3101, 3987, 54329, 54339]);

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The first free port at or after `from` (skipping the ports other tools of the project use). */
export async function freePort(from: number): Promise<number> {
  for (let p = from; p < from + 500; p++) {
    if (RESERVED.has(p)) continue;
    if (await portFree(p)) return p;
  }
  throw new Error(`no free port in ${from}..${from + 500}`);
}

/** Keeps the last `max` characters a child wrote, for error reports. */
function tail(child: ChildProcess, max = 64_000): () => string {
  let out = '';
  const add = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > max) out = out.slice(-max);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => out;
}

async function stopChild(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

// ---- CPU accounting -----------------------------------------------------------------------

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, clock ticks. */
  ticks: number;
}

export interface CpuSnapshot {
  at: number;
  procs: Map<number, ProcInfo>;
  /** Sum of all CPU time columns of /proc/stat, and of idle + iowait, clock ticks. */
  total: number;
  idle: number;
}

export function readStat(pid: number): ProcInfo | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const rest = s.slice(close + 2).split(' ');
    return { pid, comm, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined; // gone
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const procs = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info !== undefined) procs.set(info.pid, info);
  }
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const cols = line.trim().split(/\s+/).slice(1).map(Number);
  const total = cols.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cols[3] ?? 0) + (cols[4] ?? 0);
  return { at: Date.now(), procs, total, idle };
}

/** The CPU ticks of a process and all its descendants. */
export function treeTicks(snap: CpuSnapshot, root: number): number {
  let n = 0;
  for (const p of snap.procs.values()) if (isDescendant(snap, p.pid, root)) n += p.ticks;
  return n;
}

export function isDescendant(snap: CpuSnapshot, pid: number, root: number): boolean {
  for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 0 && hops < 64; hops++) {
    if (p === root) return true;
    p = snap.procs.get(p)?.ppid;
  }
  return false;
}

export function childrenOf(snap: CpuSnapshot, pid: number): ProcInfo[] {
  return [...snap.procs.values()].filter((p) => p.ppid === pid);
}

export type CpuGroups = Record<string, number | number[] | undefined>;

/**
 * Share of the whole machine (all cores = 100%) each group used between two snapshots.
 * Groups are process-tree roots (the most specific root wins). Without a "postgres" root
 * (a PostgreSQL not started by us and not found), processes named "postgres" count as it.
 */
export function cpuSplit(a: CpuSnapshot, b: CpuSnapshot, roots: CpuGroups): Record<string, number> {
  const totalDelta = Math.max(1, b.total - a.total);
  const out: Record<string, number> = {};
  const add = (group: string, ticks: number) => {
    out[group] = (out[group] ?? 0) + ticks;
  };
  const entries = Object.entries(roots).flatMap(([g, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((pid) => [g, pid] as const)));
  for (const p of b.procs.values()) {
    const delta = p.ticks - (a.procs.get(p.pid)?.ticks ?? 0);
    if (delta <= 0) continue;
    if (roots['postgres'] === undefined && p.comm === 'postgres') {
      add('postgres', delta);
      continue;
    }
    // Most specific root first (the server is also a descendant of the benchmark process).
    const hit = entries.filter(([, root]) => isDescendant(b, p.pid, root)).sort((x, y) => depth(b, y[1]) - depth(b, x[1]))[0];
    add(hit?.[0] ?? 'other', delta);
  }
  const pct: Record<string, number> = {};
  for (const [g, t] of Object.entries(out)) pct[g] = Math.round((t / totalDelta) * 1000) / 10;
  pct['idle'] = Math.round(((b.idle - a.idle) / totalDelta) * 1000) / 10;
  return pct;
}

function depth(snap: CpuSnapshot, pid: number): number {
  let d = 0;
  for (let p: number | undefined = pid; p !== undefined && p > 0 && d < 64; d++) p = snap.procs.get(p)?.ppid;
  return d;
}

/** Waits until a process tree stops using CPU (start-up compile and imports done). */
async function waitIdle(pid: number, expectChildren: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    const snap = cpuSnapshot();
    const kids = childrenOf(snap, pid).filter((p) => p.comm !== 'postgres').length;
    const ticks = treeTicks(snap, pid);
    if (kids >= expectChildren && last >= 0 && ticks - last <= 2) return;
    last = kids >= expectChildren ? ticks : -1;
    await sleep(400);
  }
}

// ---- the Marquee server ----------------------------------------------------------------------

export interface ServerHandle {
  pid: number;
  port: number;
  workers: number;
  env: Record<string, string>;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Starts src/main.ts (node --import tsx, as npm start does) and waits until every worker is up. */
export async function startServer(opts: { workers: number; port: number; env: Record<string, string> }): Promise<ServerHandle> {
  const env = { ...opts.env, PORT: String(opts.port), WORKERS: String(opts.workers), HOST: '127.0.0.1' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = tail(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server');
  let exitedEarly = false;
  child.once('exit', () => {
    exitedEarly = true;
  });
  const probe = new HttpClient('127.0.0.1', opts.port, { maxSockets: 1, keepAlive: false });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exitedEarly) throw new Error(`the server exited during start-up:\n${output()}`);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`the server did not answer /ready within 90 s:\n${output()}`);
    }
    const ok = await probe.request('GET', '/ready', { timeoutMs: 2000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(200);
  }
  probe.close();
  // With WORKERS > 1, /ready answers as soon as the first worker listens: wait for all of them.
  if (opts.workers > 1) await waitIdle(pid, opts.workers, 60_000);
  return {
    pid,
    port: opts.port,
    workers: opts.workers,
    env,
    output,
    exited: () => exitedEarly,
    stop: () => stopChild(child),
  };
}

// ---- the bare reference ----------------------------------------------------------------------

export interface BareHandle {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts bench/children/bare-server.ts with `workers` processes serving bodyFile from memory. */
export async function startBare(opts: { workers: number; port: number; bodyFile: string; etag: string }): Promise<BareHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, 'children', 'bare-server.ts')], {
    cwd: ROOT,
    env: { ...process.env, BARE_PORT: String(opts.port), BARE_WORKERS: String(opts.workers), BARE_BODY_FILE: opts.bodyFile, BARE_ETAG: opts.etag },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = tail(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the bare server');
  await new Promise<void>((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`the bare server did not start:\n${output()}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('BARE_LISTENING').length - 1;
      if (seen >= opts.workers) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the bare server exited:\n${output()}`));
    });
  });
  return { pid, port: opts.port, stop: () => stopChild(child) };
}
