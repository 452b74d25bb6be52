/** The results table and the JSON files under bench/results/. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, ROOT } from './procs.ts';

export interface Row {
  scenario: string;
  config: string;
  metric: string;
  value: string;
  target?: string;
  pass?: boolean;
}

export class Report {
  readonly rows: Row[] = [];

  add(row: Row): void {
    this.rows.push(row);
  }

  /** A row with a target: pass is decided here. */
  check(scenario: string, config: string, metric: string, value: number, unit: string, target: { op: '>=' | '<' | '=='; limit: number; show?: string }): void {
    const pass = target.op === '>=' ? value >= target.limit : target.op === '<' ? value < target.limit : value === target.limit;
    const shown = Number.isFinite(value) ? `${fmt(value)}${unit}` : 'n/a';
    this.add({ scenario, config, metric, value: shown, target: target.show ?? `${target.op === '==' ? '=' : target.op === '>=' ? '≥' : '<'} ${fmt(target.limit)}${unit}`, pass: Number.isFinite(value) && pass });
  }

  rowsOf(scenario: string): Row[] {
    return this.rows.filter((r) => r.scenario === scenario);
  }

  print(): string {
    const head = ['scenario', 'config', 'metric', 'value', 'target', 'result'];
    const body = this.rows.map((r) => [r.scenario, r.config, r.metric, r.value, r.target ?? '', r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL']);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
    const sep = widths.map((w) => '-'.repeat(w)).join('  ');
    const out: string[] = [line(head), sep];
    let last = '';
    for (const b of body) {
      const group = `${b[0] ?? ''}|${b[1] ?? ''}`;
      if (last !== '' && group !== last) out.push('');
      last = group;
      out.push(line(b));
    }
    const checked = this.rows.filter((r) => r.pass !== undefined);
    const failed = checked.filter((r) => r.pass === false);
    out.push(sep, `targets: ${checked.length - failed.length} pass, ${failed.length} fail`);
    return out.join('\n');
  }
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function machineInfo(pg: Record<string, string>): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism(),
    cpuSpeedMHz: cpus[0]?.speed ?? 0,
    memoryTotalMB: Math.round(os.totalmem() / 1048576),
    memoryFreeMBAtStart: Math.round(os.freemem() / 1048576),
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    postgres: pg,
  };
}

export function writeResult(stamp: string, scenario: string, data: unknown): string {
  const dir = path.join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}-${scenario}.json`);
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

export interface SourceVersion {
  gitHead: string;
  /** Files of src/ and migrations/ that differ from HEAD (uncommitted work). */
  uncommitted: string[];
  /** SHA-1 over the contents of src/ and migrations/: equal fingerprints, same server code. */
  fingerprint: string;
}

/** Which server code a configuration ran (read-only git queries plus a content hash). */
export function sourceVersion(): SourceVersion {
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const hash = createHash('sha1');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else {
        hash.update(path.relative(ROOT, p));
        hash.update(readFileSync(p));
      }
    }
  };
  for (const d of ['src', 'migrations']) walk(path.join(ROOT, d));
  return {
    gitHead: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    uncommitted: git(['status', '--porcelain', '--', 'src', 'migrations'])
      .split('\n')
      .map((l) => l.slice(3))
      .filter((l) => l !== ''),
    fingerprint: hash.digest('hex').slice(0, 12),
  };
}
