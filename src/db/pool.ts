/**
 * The only place that creates connections. Repositories take a `Queryable` (the pool or a
 * client inside a transaction) so a use case decides where the transaction boundary is.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;
export type Client = pg.PoolClient;

export interface DbOptions {
  connectionString: string;
  max: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  connectionTimeoutMs: number;
  applicationName?: string;
}

export interface Db {
  pool: pg.Pool;
  /** The connection string, for clients that live outside the pool (LISTEN). */
  url: string;
  /** Runs fn inside BEGIN … COMMIT on one client; rolls back when fn throws. */
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Return bigint counts as numbers, timestamps as Date (default), numeric as string (default).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export function createDb(opts: DbOptions, logger?: Logger): Db {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max,
    connectionTimeoutMillis: opts.connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs,
    lock_timeout: opts.lockTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(opts.statementTimeoutMs * 2, 10_000),
    application_name: opts.applicationName ?? 'marquee',
    keepAlive: true,
  });
  // An idle client whose connection dies must not crash the process; the pool drops it.
  pool.on('error', (err) => logger?.warn({ err }, 'idle database client failed'));
  // Nor may a checked-out one between two statements (the pool only listens while idle): its
  // next query then fails and is answered 503, and the broken client is discarded.
  pool.on('connect', (client) => {
    client.on('error', (err) => logger?.warn({ err }, 'database connection lost'));
  });

  let closed = false;
  return {
    pool,
    url: opts.connectionString,
    async tx(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        throw err;
      } finally {
        // A client whose rollback failed is in an unknown state: destroy it, never reuse it.
        client.release(broken);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

export interface PgError extends Error {
  code?: string;
  constraint?: string;
  detail?: string;
}

export function isPgError(err: unknown): err is PgError {
  return err instanceof Error && typeof (err as PgError).code === 'string';
}
