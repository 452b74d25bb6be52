/**
 * Logs go to stdout through an asynchronous destination: a log call returns before its line
 * is written. These tests prove that no line is lost when the process ends right after
 * logging, however it ends, with a pipe as stdout (as under a process manager) and far more
 * than a pipe buffer of lines still queued.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';

const fixture = path.resolve(import.meta.dirname, '../test/fixtures/log-then-end.ts');
const LINES = 20_000; // ~3 MB: most of it is still queued when the process ends

function run(end: string): Promise<{ code: number | null; lines: { i?: number; msg?: string }[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, LINES: String(LINES), END: end }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const text = Buffer.concat(out).toString();
      const lines = text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { i?: number; msg?: string });
      resolve({ code, lines, stderr });
    });
  });
}

for (const [end, code] of [['return', 0], ['exit', 3], ['throw', 1]] as const) {
  it(`async log destination: ${LINES} lines logged, then the process ends by ${end} → every line is on stdout, in order`, async () => {
    const r = await run(end);
    assert.equal(r.code, code, r.stderr);
    const ids = r.lines.filter((l) => l.msg === 'line').map((l) => l.i);
    assert.equal(ids.length, LINES, `lines written: ${ids.length}`);
    assert.ok(ids.every((v, k) => v === k), 'in order, none twice');
    if (end === 'throw') assert.match(r.stderr, /fatal after logging/);
  });
}

it('async log destination: a quiet process\'s one line reaches stdout while it runs (the buffer is flushed on a timer, not only when full)', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, LINES: '1', END: 'wait' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no line within 10 s')), 10_000);
      child.stdout.on('data', (b: Buffer) => {
        clearTimeout(timer);
        resolve(b.toString());
      });
    });
    assert.equal((JSON.parse(line) as { msg: string }).msg, 'line');
    assert.equal(child.exitCode, null, 'still running');
  } finally {
    child.kill('SIGKILL');
  }
});
