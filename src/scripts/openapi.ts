/**
 * `npm run openapi [file]`: writes the OpenAPI document to a file (default openapi.json) or
 * stdout ('-'). Builds the app without connecting to any database: the pool connects lazily
 * and nothing here queries it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createDb } from '../db/pool.ts';

const out = process.argv[2] ?? 'openapi.json';
const config = loadConfig({ ...process.env, JWT_SECRET: 'openapi-document-only-not-a-secret-0123456789' });
const logger = pino({ level: 'silent' });
const db = createDb({ connectionString: 'postgres://unused@127.0.0.1:1/unused', max: 1, statementTimeoutMs: 1000, lockTimeoutMs: 1000, connectionTimeoutMs: 1000 }, logger);
const built = createApp({ config, db, logger });
const text = `${JSON.stringify(built.openapi, null, 2)}\n`;
if (out === '-') process.stdout.write(text);
else {
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, text);
}
await built.close();
await db.close();
