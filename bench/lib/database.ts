/**
 * The benchmark's PostgreSQL: the embedded one (default, its own data folder and port) or
 * the server DATABASE_URL points at. Each server configuration gets a fresh database on it,
 * migrated with the project's migrations and dropped at the end unless BENCH_KEEP_DB=1.
 */
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { readStat, ROOT } from './procs.ts';

export interface BenchDatabase {
  url: string;
  name: string;
  kind: 'embedded' | 'DATABASE_URL';
  /** A small pool for seeding, checks and monitoring (application_name marquee-bench). */
  pool: pg.Pool;
  info: Record<string, string>;
  /** The postmaster's pid when PostgreSQL runs on this machine (CPU accounting), else undefined. */
  postmasterPid: number | undefined;
  close(keep: boolean): Promise<void>;
}

export interface PgServer {
  kind: 'embedded' | 'DATABASE_URL';
  /** A connection URL whose role may create databases (the yardstick makes its own). */
  adminUrl: string;
  createDatabase(name: string, log: (m: string) => void): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

export async function startPg(opts: { databaseUrl: string | undefined; pgPort: number; log: (m: string) => void }): Promise<PgServer> {
  let embedded: EmbeddedServer | undefined;
  let adminUrl: string;
  if (opts.databaseUrl === undefined) {
    const dir = path.join(ROOT, '.data', 'bench-pg');
    opts.log(`starting the embedded PostgreSQL (${dir}, port ${opts.pgPort})`);
    embedded = await startEmbeddedPostgres({ dir, port: opts.pgPort });
    adminUrl = embedded.url('postgres');
  } else {
    adminUrl = opts.databaseUrl;
  }
  const kind = embedded === undefined ? ('DATABASE_URL' as const) : ('embedded' as const);
  return {
    kind,
    adminUrl,
    async createDatabase(name, log) {
      let url = withDatabase(adminUrl, name);
      let created = true;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } catch (err) {
        if (embedded !== undefined) throw err;
        // No right to create databases there: use DATABASE_URL's own database as it is.
        log(`could not create a fresh database (${err instanceof Error ? err.message : String(err)}); using DATABASE_URL's database as it is`);
        url = adminUrl;
        created = false;
      } finally {
        await admin.end();
      }
      await migrate(url);
      const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'marquee-bench' });
      const info: Record<string, string> = {};
      for (const setting of ['server_version', 'shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'work_mem']) {
        const { rows } = await pool.query<{ v: string }>(`SELECT current_setting($1) AS v`, [setting]);
        info[setting] = rows[0]?.v ?? '';
      }
      // A backend's parent is the postmaster (when the server runs here): its tree is "postgres".
      const { rows: me } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const backend = readStat(me[0]?.pid ?? -1);
      const postmaster = backend === undefined ? undefined : readStat(backend.ppid);
      return {
        url,
        postmasterPid: postmaster?.comm === 'postgres' ? postmaster.pid : undefined,
        name: new URL(url).pathname.slice(1),
        kind,
        pool,
        info,
        async close(keep) {
          await pool.end();
          if (!created || keep) return;
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          try {
            await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
          } finally {
            await c.end();
          }
        },
      };
    },
    async stop() {
      await embedded?.stop();
    },
  };
}
