/** The real process: start-up with migrations under a lock, and graceful shutdown. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, it } from 'node:test';
import pg from 'pg';
import { migrate } from '../src/db/migrate.ts';
import { createTestDatabase, databaseUrlFor, spawnServer, within } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

async function emptyDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: process.env['TEST_ADMIN_URL'] });
  await admin.connect();
  const name = `${String(process.env['TEST_TEMPLATE_DB']).replace('tpl', 't')}_empty_${Math.random().toString(16).slice(2, 8)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: process.env['TEST_ADMIN_URL'] });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  return databaseUrlFor(String(process.env['TEST_ADMIN_URL']), name);
}

it('migrate: five processes migrating one empty database at once → each migration applied once', async () => {
  const url = await emptyDatabase();
  await Promise.all(Array.from({ length: 5 }, () => migrate(url)));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM pgmigrations GROUP BY name`);
  await c.end();
  assert.ok(rows.length >= 1);
  assert.ok(rows.every((r) => r.n === 1));
});

it('shutdown: SIGTERM while a request is in flight → that request completes, new ones are refused, exit 0', async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const { child, port, output } = await spawnServer(db.url, { JWT_SECRET: 'lifecycle-secret-lifecycle-secret-0123' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  // A registration whose body arrives in two parts: SIGTERM lands between them, once the server
  // has the request (it answered `100 Continue` to its headers); the rest of the body follows
  // once the server has logged that it is shutting down.
  const body = JSON.stringify({ email: 'inflight@example.com', password: 'password123', name: 'In Flight' });
  const shuttingDown = new Promise<void>((resolve) => {
    const onData = () => {
      if (!/shutting down/.test(output())) return;
      child.stdout?.off('data', onData);
      resolve();
    };
    child.stdout?.on('data', onData);
  });
  const inFlight = new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/auth/register',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.once('continue', () => {
      req.write(body.slice(0, 10));
      child.kill('SIGTERM');
      within(shuttingDown, 'the server to log that it is shutting down').then(
        () => req.end(body.slice(10)),
        (err: unknown) => {
          req.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
    req.flushHeaders();
  });
  assert.equal(await inFlight, 201, 'the request in flight finished');
  const code = await exited;
  assert.equal(code, 0, output());
  assert.match(output(), /stopped cleanly/);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'new connections are refused');
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  const { rowCount } = await c.query(`SELECT 1 FROM users WHERE email = 'inflight@example.com'`);
  await c.end();
  assert.equal(rowCount, 1);
});
