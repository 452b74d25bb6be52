/** `npm run migrate`: applies pending migrations to DATABASE_URL's database, or the embedded one. */
import 'dotenv/config';
import { loadConfig } from '../config.ts';
import { locateDatabase } from '../db/connect.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../logger.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const location = await locateDatabase(config, logger);
try {
  const applied = await migrate(location.url, logger);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'already up to date');
} finally {
  await location.embedded?.stop();
}
