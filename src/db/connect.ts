/** Where the database is: DATABASE_URL, or the embedded PostgreSQL under the data folder. */
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded.ts';

export interface DatabaseLocation {
  url: string;
  embedded: EmbeddedServer | undefined;
}

export async function locateDatabase(config: Config, logger: Logger): Promise<DatabaseLocation> {
  if (config.databaseUrl !== undefined) return { url: config.databaseUrl, embedded: undefined };
  const dir = path.join(config.dataDir, 'pg');
  logger.info({ dir, port: config.embeddedPgPort }, 'DATABASE_URL is unset: starting the embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, logger });
  await embedded.createDatabaseIfMissing('marquee');
  return { url: embedded.url('marquee'), embedded };
}
