import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

const dataDir = mkdtempSync(path.join(tmpdir(), 'marquee-config-'));

it('config: defaults from the contract when nothing is set', () => {
  const c = loadConfig({ DATA_DIR: dataDir });
  assert.equal(c.port, 3000);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.holdTtlSeconds, 600);
  assert.equal(c.authRateLimitPerMinute, 10);
  assert.equal(c.maxPendingHoldsPerUser, 3);
  assert.equal(c.currency, 'USD');
  assert.equal(c.logLevel, 'info');
  assert.ok(c.jwtSecret.length >= 32, 'a dev secret is generated');
  assert.equal(loadConfig({ DATA_DIR: dataDir }).jwtSecret, c.jwtSecret, 'and kept under the data folder');
});

it('config: a wrong value → ConfigError naming the variable', () => {
  for (const [env, name] of [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ HOLD_TTL_SECONDS: '-5' }, 'HOLD_TTL_SECONDS'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ CURRENCY: 'dollars' }, 'CURRENCY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
    [{ ADMIN_EMAIL: 'a@b.c' }, 'ADMIN_PASSWORD'],
  ] as const) {
    assert.throws(
      () => loadConfig({ DATA_DIR: dataDir, ...env }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      name,
    );
  }
});
