import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { ConfigError, envSchema, loadConfig } from './config.ts';

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

it('config: anti-abuse settings, when unset → the documented defaults (TRUST_PROXY trusts no proxy)', () => {
  const c = loadConfig({ DATA_DIR: dataDir });
  assert.equal(c.registerRateLimitPerHour, 20);
  assert.equal(c.maxSeatsPerUserPerShow, 10);
  assert.equal(c.reholdCooldownSeconds, 60);
  assert.equal(c.trustProxy, false);
  const off = loadConfig({ DATA_DIR: dataDir, REGISTER_RATE_LIMIT_PER_HOUR: '0', MAX_SEATS_PER_USER_PER_SHOW: '0', REHOLD_COOLDOWN_SECONDS: '0', AUTH_RATE_LIMIT_PER_MINUTE: '0' });
  assert.deepEqual([off.registerRateLimitPerHour, off.maxSeatsPerUserPerShow, off.reholdCooldownSeconds, off.authRateLimitPerMinute], [0, 0, 0, 0]);
  for (const name of ['REGISTER_RATE_LIMIT_PER_HOUR', 'MAX_SEATS_PER_USER_PER_SHOW', 'REHOLD_COOLDOWN_SECONDS']) {
    assert.throws(
      () => loadConfig({ DATA_DIR: dataDir, [name]: '-1' }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      name,
    );
  }
});

it('config: TRUST_PROXY=true (trust anything) → refused at start-up, naming the variable and asking for a hop count or addresses', () => {
  for (const value of ['true', 'TRUE', 'yes']) {
    assert.throws(
      () => loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: value }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('TRUST_PROXY') && /number of proxies/.test(err.message) && /addresses/.test(err.message),
      value,
    );
  }
});

it('config: TRUST_PROXY not a hop count or proxy addresses, or a range of every address → ConfigError naming TRUST_PROXY', () => {
  for (const value of ['0.0.0.0/0', '::/0', '10.0.0.1/33', 'example.com', '10.0.0.1,', '10.0.0.1/8/8', '999', 'everything']) {
    assert.throws(
      () => loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: value }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('TRUST_PROXY'),
      value,
    );
  }
});

it('config: TRUST_PROXY a hop count, addresses or CIDRs, or false/0 → the Express trust proxy value (false: trust none)', () => {
  const trust = (v: string) => loadConfig({ DATA_DIR: dataDir, TRUST_PROXY: v }).trustProxy;
  assert.equal(trust('1'), 1);
  assert.equal(trust('2'), 2);
  assert.equal(trust('0'), false);
  assert.equal(trust('false'), false);
  assert.equal(trust(''), false);
  assert.deepEqual(trust('10.0.0.5, 10.1.0.0/16,loopback,fd00::/8'), ['10.0.0.5', '10.1.0.0/16', 'loopback', 'fd00::/8']);
});

it('config: .env.example lists every setting of src/config.ts, each with its default (or what unset means) and a meaning, and nothing else', () => {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../.env.example');
  const listed = new Map<string, { value: string; meaning: string }>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^#?\s*([A-Z][A-Z0-9_]*)=(\S*)\s*(?:#\s*(.*))?$/.exec(line);
    if (m === null) continue;
    const [, name = '', value = '', meaning = ''] = m;
    assert.ok(!listed.has(name), `${name} is listed twice`);
    listed.set(name, { value, meaning: meaning.trim() });
  }
  const settings = Object.keys(envSchema.shape);
  const missing = settings.filter((name) => !listed.has(name));
  assert.deepEqual(missing, [], `.env.example lacks ${missing.join(', ')}: add each with its default and meaning`);
  const unknown = [...listed.keys()].filter((name) => !settings.includes(name));
  assert.deepEqual(unknown, [], `.env.example lists settings src/config.ts does not read: ${unknown.join(', ')}`);
  for (const [name, schema] of Object.entries(envSchema.shape)) {
    const entry = listed.get(name);
    assert.ok(entry !== undefined);
    assert.ok(entry.meaning.length > 0, `${name}: no meaning after the value`);
    const parsed = schema.safeParse(undefined);
    assert.ok(parsed.success, name);
    if (parsed.data === undefined) {
      assert.match(entry.meaning, /^unset: /, `${name} has no default: its meaning must start with what "unset:" means`);
    } else {
      assert.equal(entry.value, String(parsed.data), `${name}: .env.example shows ${entry.value}, src/config.ts defaults to ${String(parsed.data)}`);
      assert.equal(schema.safeParse(entry.value).data, parsed.data, `${name}: the default shown parses to the default`);
    }
  }
});
