/**
 * `npm test`: prepares a PostgreSQL (DATABASE_URL's server, or an embedded one when unset),
 * migrates a template database once, then runs every *.test.ts with node's test runner in
 * parallel. Each test file clones its own database from the template (test/helpers.ts).
 *
 *   npm test                       all tests
 *   npm test -- src/features/auth  only files whose path contains one of the arguments
 *   npm run test:chaos             the fault-injection suite (*.chaos.ts) instead
 */
import 'dotenv/config';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';

const root = path.resolve(import.meta.dirname, '..');

function findTests(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...findTests(p, suffix));
    } else if (entry.name.endsWith(suffix)) {
      out.push(path.relative(root, p));
    }
  }
  return out.sort();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + database;
  return u.toString();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const chaos = args.includes('--chaos');
  const filters = args.filter((a) => a !== '--chaos');
  const suffix = chaos ? '.chaos.ts' : '.test.ts';
  const files = [...findTests(path.join(root, 'src'), suffix), ...findTests(path.join(root, 'test'), suffix)].filter(
    (f) => filters.length === 0 || filters.some((x) => f.includes(x)),
  );
  if (files.length === 0) {
    console.error('no test files match', filters);
    return 1;
  }

  let embedded: EmbeddedServer | undefined;
  let embeddedDir: string | undefined;
  let adminUrl = process.env['DATABASE_URL'];
  if (adminUrl === undefined || adminUrl === '') {
    // A throw-away cluster per run, on a free port: runs side by side never share one.
    const port = await freePort();
    embeddedDir = path.join(root, '.data', 'test-pg', `${process.pid}-${randomBytes(3).toString('hex')}`);
    console.log(`# DATABASE_URL is unset: starting an embedded PostgreSQL for the tests on port ${port}`);
    embedded = await startEmbeddedPostgres({ dir: embeddedDir, port });
    adminUrl = embedded.url('postgres');
  }

  const template = `marquee_tpl_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  console.log(`# PostgreSQL ${version}; template database ${template}`);
  try {
    await admin.query(`CREATE DATABASE ${template}`);
    await migrate(withDatabase(adminUrl, template));

    const concurrency = Math.max(2, availableParallelism());
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, TEST_ADMIN_URL: adminUrl, TEST_TEMPLATE_DB: template, NODE_ENV: 'test' },
      },
    );
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    // Drop the template and any database a crashed test file left behind.
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [template, `${template.replace('tpl', 't')}%`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    await admin.end();
    if (embedded !== undefined) await embedded.stop();
    if (embeddedDir !== undefined) rmSync(embeddedDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
