/**
 * Start-up: config → database (embedded when DATABASE_URL is unset) → migrations → app →
 * listen. SIGTERM/SIGINT stop taking connections, let requests in flight finish, close the
 * pool and stop the embedded database.
 */
import 'dotenv/config';
import path from 'node:path';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createDb } from './db/pool.ts';
import { createLogger } from './logger.ts';
import { startWebServer, stopWebServer } from './server.ts';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);

  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    const dir = path.join(config.dataDir, 'pg');
    logger.info({ dir, port: config.embeddedPgPort }, 'DATABASE_URL is unset: starting the embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, logger });
    await embedded.createDatabaseIfMissing('marquee');
    databaseUrl = embedded.url('marquee');
  }

  await migrate(databaseUrl, logger);
  const db = createDb(
    {
      connectionString: databaseUrl,
      max: config.db.poolMax,
      statementTimeoutMs: config.db.statementTimeoutMs,
      lockTimeoutMs: config.db.lockTimeoutMs,
      connectionTimeoutMs: config.db.connectionTimeoutMs,
    },
    logger,
  );
  const built = createApp({ config, db, logger });
  await built.init();

  const { server, url } = await startWebServer(built.app, config.port, config.host);
  logger.info({ url, docs: `${url}/docs` }, `Marquee is listening on ${url} (API reference: ${url}/docs)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    force.unref();
    try {
      await stopWebServer(server, config.shutdownTimeoutMs);
      await built.close();
      await db.close();
      if (embedded !== undefined) await embedded.stop();
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}

main().catch((err: unknown) => {
  console.error('Marquee failed to start:', err);
  process.exit(1);
});
