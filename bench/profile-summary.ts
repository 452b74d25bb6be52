/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `bench/stack.ts --cpu-prof DIR`):
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 40] [--callers FUNCTION] [--last SECONDS] [--wall]
 *
 * Prints the share of samples by package (self time: node_modules/<pkg>, node: internals,
 * src/ files, GC, idle) and the functions with the most self time, plus "inclusive" shares
 * for a few markers (any frame on the stack from that package). --callers lists the stacks
 * (five frames up) under which FUNCTION spent its self time. Shares count samples; --wall
 * weights them by wall time instead.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: o, positionals } = parseArgs({ options: { top: { type: 'string', default: '40' }, callers: { type: 'string' }, wall: { type: 'boolean', default: false }, last: { type: 'string' } }, allowPositionals: true });
const file = positionals[0];
if (file === undefined) throw new Error('usage: profile-summary.ts FILE.cpuprofile');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

function group(f: CallFrame): string {
  if (f.url === '') {
    if (f.functionName === '(garbage collector)') return '(gc)';
    if (f.functionName === '(idle)') return '(idle)';
    if (f.functionName === '(program)') return '(program)';
    return `(native) ${f.functionName}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (nm?.[1] !== undefined) return nm[1];
  if (f.url.startsWith('node:')) return f.url.replace(/^node:internal\/(.*)$/, 'node:$1').split('/').slice(0, 2).join('/');
  const src = /\/(src|bench|test)\/(.*)$/.exec(f.url);
  if (src !== undefined && src !== null) return `${src[1]}/${src[2]}`;
  return f.url;
}

const selfByGroup = new Map<string, number>();
const selfByFn = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
// --last S: only the samples of the profile's last S seconds (e.g. the sale, not the start-up).
const at: number[] = [];
for (let i = 0, clock = 0; i < profile.timeDeltas.length; i++) at.push((clock += profile.timeDeltas[i] ?? 0));
const from = o.last === undefined ? -Infinity : (at.at(-1) ?? 0) - Number(o.last) * 1e6;
for (let i = 0; i < profile.samples.length; i++) {
  if ((at[i] ?? 0) < from) continue;
  const id = profile.samples[i] ?? 0;
  // Each sample counts once by default: weighting by the time since the previous sample (--wall)
  // charges a frame for the time the thread was descheduled, which on a busy machine inflates
  // system calls that wake another process (writev to a socket) several-fold.
  const dt = o.wall ? (profile.timeDeltas[i] ?? 0) : 1;
  const node = byId.get(id);
  if (node === undefined) continue;
  total += dt;
  const g = group(node.callFrame);
  if (g === '(idle)') idle += dt;
  selfByGroup.set(g, (selfByGroup.get(g) ?? 0) + dt);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${g}:${node.callFrame.lineNumber + 1}`;
  selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + dt);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const n = byId.get(at);
    if (n === undefined) break;
    const gg = group(n.callFrame);
    if (!seen.has(gg)) {
      seen.add(gg);
      inclusive.set(gg, (inclusive.get(gg) ?? 0) + dt);
    }
  }
}
const busy = total - idle;
const pct = (v: number) => `${((100 * v) / busy).toFixed(1)}%`;
console.log(`# ${file}: ${o.wall ? `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy` : `${total} samples, ${busy} busy`} (shares below are of busy ${o.wall ? 'time' : 'samples'})`);
console.log('\n## self time by package / file');
for (const [g, v] of [...selfByGroup].filter(([g]) => g !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(v).padStart(7)}  ${g}`);
console.log('\n## inclusive (any frame of it on the stack)');
for (const [g, v] of [...inclusive].filter(([g]) => g !== '(idle)' && !g.startsWith('(native)')).sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(v).padStart(7)}  ${g}`);
console.log(`\n## top ${o.top} functions by self time`);
for (const [f, v] of [...selfByFn].filter(([f]) => !f.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(o.top))) console.log(`${pct(v).padStart(7)}  ${f}`);

if (o.callers !== undefined) {
  const stacks = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0;
    const node = byId.get(id);
    if (node?.callFrame.functionName !== o.callers) continue;
    const frames: string[] = [];
    for (let at = parent.get(id); at !== undefined && frames.length < 5; at = parent.get(at)) {
      const n = byId.get(at);
      if (n === undefined) break;
      frames.push(`${n.callFrame.functionName || '(anonymous)'}@${group(n.callFrame)}`);
    }
    const key = frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + (o.wall ? (profile.timeDeltas[i] ?? 0) : 1));
  }
  console.log(`\n## callers of ${o.callers}`);
  for (const [k, v] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(v).padStart(7)}  ${k}`);
}
