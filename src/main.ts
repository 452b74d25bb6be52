/**
 * Start-up: config → database (embedded when DATABASE_URL is unset) → migrations → app →
 * listen. SIGTERM/SIGINT stop taking connections, let requests in flight finish, close the
 * pool and stop the embedded database.
 */
import 'dotenv/config';
import cluster from 'node:cluster';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { locateDatabase } from './db/connect.ts';
import type { EmbeddedServer } from './db/embedded.ts';
import { migrate } from './db/migrate.ts';
import { createDb, type Db } from './db/pool.ts';
import { createLogger } from './logger.ts';
import { catalogueIsEmpty, seedDemoCatalogue } from './seed/demo.ts';
import { startWebServer, stopWebServer } from './server.ts';

/** Exit status of a process that refuses to start because of its configuration (sysexits EX_CONFIG). */
const EXIT_CONFIG = 78;

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

/** First start on an empty embedded database: load the demo catalogue and say how to sign in. */
async function seedOnFirstStart(db: Db, config: Config, logger: Logger): Promise<void> {
  logger.info('empty database: loading the demo catalogue (first start only; SEED_DEMO=false skips it)');
  const r = await seedDemoCatalogue(db, {
    currency: config.currency,
    createAdmin: config.admin === undefined,
    progress: (message) => logger.info(`seeding ${message}`),
  });
  logger.info({ movies: r.movies, theatres: r.theatres, screens: r.screens, shows: r.shows, seats: r.seats }, 'demo catalogue loaded');
  if (r.admin === undefined || r.usher === undefined) return;
  mkdirSync(config.dataDir, { recursive: true });
  const keep = (name: string, account: { email: string; password: string }) => {
    const file = path.join(config.dataDir, name);
    writeFileSync(file, `email: ${account.email}\npassword: ${account.password}\n`, { mode: 0o600 });
    return file;
  };
  const adminFile = keep('demo-admin.txt', r.admin);
  const usherFile = keep('demo-usher.txt', r.usher);
  console.log(
    `\n  Demo admin: ${r.admin.email} / ${r.admin.password}  (also written to ${adminFile})\n` +
      `  Demo usher: ${r.usher.email} / ${r.usher.password}  (staff: checks tickets in at /door; ${usherFile})\n` +
      `  Sign in:    curl -X POST localhost:${config.port}/api/v1/auth/login -H 'content-type: application/json' \\\n` +
      `                -d '{"email":"${r.admin.email}","password":"${r.admin.password}"}'\n`,
  );
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.logLevel);

  if (cluster.isWorker) {
    // A worker of a cluster: the primary has located, migrated and seeded the database.
    await serve(config, logger, String(process.env['MARQUEE_WORKER_DATABASE_URL']), undefined);
    return;
  }

  const { url: databaseUrl, embedded } = await locateDatabase(config, logger);
  try {
    await migrate(databaseUrl, logger);
    if (embedded !== undefined && config.seedDemo) await seedIfEmpty(databaseUrl, config, logger);
    if (config.workers > 1) supervise(config, logger, databaseUrl, embedded);
    else await serve(config, logger, databaseUrl, embedded);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

async function seedIfEmpty(databaseUrl: string, config: Config, logger: Logger): Promise<void> {
  const db = createDb({ connectionString: databaseUrl, max: 2, statementTimeoutMs: 120_000, lockTimeoutMs: 10_000, connectionTimeoutMs: 10_000 }, logger);
  try {
    if (await catalogueIsEmpty(db)) await seedOnFirstStart(db, config, logger);
  } finally {
    await db.close();
  }
}

/** WORKERS > 1: fork that many server processes on one port; replace any that dies; stop them all on a signal. */
function supervise(config: Config, logger: Logger, databaseUrl: string, embedded: EmbeddedServer | undefined): void {
  let stopping = false;
  const fork = () => cluster.fork({ MARQUEE_WORKER_DATABASE_URL: databaseUrl });
  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers }, `starting ${config.workers} server processes`);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (code === EXIT_CONFIG) {
      // It refused to start (its message is above); so would every replacement.
      logger.error({ pid: worker.process.pid, code }, 'a server process refused to start; stopping');
      void shutdown('refused', 1);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'a server process died; starting another');
    setTimeout(fork, 500).unref();
  });
  const shutdown = async (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the server processes');
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) {
              resolve();
              return;
            }
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
    await embedded?.stop();
    logger.info('stopped cleanly');
    process.exit(exitCode);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal));
}

async function serve(config: Config, logger: Logger, databaseUrl: string, embedded: EmbeddedServer | undefined): Promise<void> {
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

  const { server, url } = await startWebServer(built.handler, config.port, config.host);
  logger.info({ url, docs: `${url}/docs` }, `Marquee is listening on ${url} (web app: ${url}/, door: ${url}/door, API reference: ${url}/docs)`);

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
      built.drain();
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
  if (err instanceof ConfigError) {
    console.error(`Marquee refused to start: ${err.message}`);
    process.exit(EXIT_CONFIG);
  }
  console.error('Marquee failed to start:', err);
  process.exit(1);
});
