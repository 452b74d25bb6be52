/**
 * `npm run seed`: loads the demo catalogue into DATABASE_URL's database, or the embedded one.
 * Refuses a database that already has a catalogue unless given --force.
 */
import 'dotenv/config';
import { loadConfig } from '../config.ts';
import { locateDatabase } from '../db/connect.ts';
import { migrate } from '../db/migrate.ts';
import { createDb } from '../db/pool.ts';
import { createLogger } from '../logger.ts';
import { catalogueIsEmpty, seedDemoCatalogue } from '../seed/demo.ts';

const force = process.argv.includes('--force');
const config = loadConfig();
const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
const location = await locateDatabase(config, logger);
const db = createDb({ connectionString: location.url, max: 2, statementTimeoutMs: 120_000, lockTimeoutMs: 10_000, connectionTimeoutMs: 10_000 }, logger);
try {
  await migrate(location.url, logger);
  if (!force && !(await catalogueIsEmpty(db))) {
    console.log('The catalogue is not empty; nothing seeded. Run `npm run seed -- --force` to add the demo catalogue anyway.');
  } else {
    const started = Date.now();
    console.log('Seeding the demo catalogue…');
    const r = await seedDemoCatalogue(db, { currency: config.currency, createAdmin: config.admin === undefined, progress: (m) => console.log(`  ${m}`) });
    console.log(
      `Done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${r.movies} movies, ${r.theatres} theatres, ${r.screens} screens, ${r.shows} shows, ${r.seats} show seats.`,
    );
    if (r.admin) console.log(`Demo admin: ${r.admin.email} / ${r.admin.password}`);
  }
} finally {
  await db.close();
  await location.embedded?.stop();
}
