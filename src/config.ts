/**
 * The one place that reads process.env. Every setting is declared here once, with its
 * default, and checked at start-up: a wrong value stops the process with a message that
 * names the variable.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

const emptyToUndefined = (v: unknown): unknown => (v === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const int = (def: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));
const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

/** Names Express's 'trust proxy' (proxy-addr) accepts for well-known ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: which hops of X-Forwarded-For to believe. Unset, false, no or 0: none (the
 * client address is the socket's). A number: that many proxies in front. Otherwise a
 * comma-separated list of proxy addresses or CIDR ranges (or loopback, linklocal,
 * uniquelocal). Never "trust anything": true is refused, and so is a /0 range, because then
 * every client picks its own address (and escapes every per-address limit) with the header.
 */
export function parseTrustProxy(raw: string | undefined): { value: false | number | string[] } | { error: string } {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === 'no' || v === '0') return { value: false };
  if (v === 'true' || v === 'yes') {
    return {
      error:
        `"${raw ?? ''}" would trust any X-Forwarded-For a client sends, so every client could pick its own address; ` +
        'give the number of proxies in front of the server (e.g. TRUST_PROXY=1) or their addresses (e.g. TRUST_PROXY=10.0.0.5,10.1.0.0/16)',
    };
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    return hops <= 32 ? { value: hops } : { error: 'a hop count must be at most 32' };
  }
  const entries = v.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (PROXY_RANGE_NAMES.has(entry)) continue;
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) {
      return { error: `"${entry}" is not a proxy address, CIDR range (10.0.0.0/8), loopback, linklocal or uniquelocal; give a hop count or a comma-separated list of those` };
    }
    if (prefix !== undefined && (Number(prefix) < 1 || Number(prefix) > bits)) {
      return { error: `"${entry}": the prefix length must be 1..${bits} (a /0 range would trust every address)` };
    }
  }
  return { value: entries };
}

export const envSchema = z
  .object({
    NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
    PORT: int(3000, 0, 65535),
    WORKERS: int(1, 1, 64),
    HOST: z.preprocess(emptyToUndefined, z.string().default('0.0.0.0')),
    DATABASE_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),
    EMBEDDED_PG_PORT: int(54329, 1, 65535),
    DB_POOL_MAX: int(20, 1, 200),
    DB_STATEMENT_TIMEOUT_MS: int(5000, 100, 600_000),
    DB_LOCK_TIMEOUT_MS: int(2000, 50, 600_000),
    DB_CONNECTION_TIMEOUT_MS: int(3000, 100, 60_000),
    JWT_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    TICKET_SIGNING_SECRET: z.preprocess(emptyToUndefined, z.string().min(32, 'must be at least 32 characters').optional()),
    ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
    REFRESH_TOKEN_TTL_DAYS: int(30, 1, 365),
    ADMIN_EMAIL: optionalString,
    ADMIN_PASSWORD: optionalString,
    ADMIN_PROMOTE_EXISTING: bool(false),
    HOLD_TTL_SECONDS: int(600, 1, 86_400),
    SHOW_CLEANING_MINUTES: int(15, 0, 240),
    AUTH_RATE_LIMIT_PER_MINUTE: int(10, 0, 100_000),
    REGISTER_RATE_LIMIT_PER_HOUR: int(20, 0, 1_000_000),
    MAX_PENDING_HOLDS_PER_USER: int(3, 0, 100_000),
    MAX_SEATS_PER_USER_PER_SHOW: int(10, 0, 100_000),
    REHOLD_COOLDOWN_SECONDS: int(60, 0, 86_400),
    PAYMENT_WEBHOOK_SECRET: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
    CURRENCY: z.preprocess(emptyToUndefined, z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').default('USD')),
    LOG_LEVEL: z.preprocess(
      emptyToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
    CORS_ORIGINS: z.preprocess(emptyToUndefined, z.string().default('*')),
    BODY_LIMIT: z.preprocess(emptyToUndefined, z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb').default('100kb')),
    TRUST_PROXY: optionalString,
    SEED_DEMO: bool(true),
    EXPIRY_SWEEP_INTERVAL_MS: int(5000, 0, 3_600_000),
    SSE_HEARTBEAT_MS: int(15_000, 100, 600_000),
    PAYMENT_TIMEOUT_MS: int(5000, 100, 8000),
    PAYMENT_SIM_LATENCY_MS: int(0, 0, 60_000),
    SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 600_000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const key of ['JWT_SECRET', 'PAYMENT_WEBHOOK_SECRET'] as const) {
        if (env[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when NODE_ENV=production' });
      }
    }
    if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together' });
    }
    const trust = parseTrustProxy(env.TRUST_PROXY);
    if ('error' in trust) ctx.addIssue({ code: 'custom', path: ['TRUST_PROXY'], message: trust.error });
    if (env.ADMIN_PASSWORD !== undefined && env.ADMIN_PASSWORD.length < 8) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'must be at least 8 characters' });
    }
  });

type Env = z.infer<typeof envSchema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  /** Server processes (node:cluster) sharing the port; 1 runs in-process. */
  workers: number;
  host: string;
  /** Unset: main.ts starts an embedded PostgreSQL under dataDir and fills this in. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  db: { poolMax: number; statementTimeoutMs: number; lockTimeoutMs: number; connectionTimeoutMs: number };
  jwtSecret: string;
  /**
   * Signs ticket codes (src/features/tickets/codes.ts). Unset: a key derived from jwtSecret
   * (HKDF), so tickets stay valid across restarts as sessions do; set it to verify codes on
   * offline door scanners without handing them the token secret, or to rotate one without the other.
   */
  ticketSigningSecret: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  /** promoteExisting: ADMIN_EMAIL may name an existing non-admin account, which start-up then makes admin. */
  admin: { email: string; password: string; promoteExisting: boolean } | undefined;
  holdTtlSeconds: number;
  /** Minutes a screen stays busy after a show ends, for cleaning; shows may not overlap it. */
  showCleaningMinutes: number;
  /** Failed logins per minute per account (normalised email), any address; ten times that per client address, any account. 0: off. */
  authRateLimitPerMinute: number;
  /** Registrations per hour per client address; 0: off. */
  registerRateLimitPerHour: number;
  maxPendingHoldsPerUser: number;
  /** Seats one user may hold or have bought in one show; 0: no cap. */
  maxSeatsPerUserPerShow: number;
  /** Seconds before a user may hold seats they cancelled or let lapse again; 0: none. */
  reholdCooldownSeconds: number;
  paymentWebhookSecret: string;
  currency: string;
  logLevel: Env['LOG_LEVEL'];
  corsOrigins: string[] | '*';
  bodyLimit: string;
  /** Express 'trust proxy': false (none), a hop count, or proxy addresses/CIDRs; never true. */
  trustProxy: false | number | string[];
  seedDemo: boolean;
  /** 0 turns the background sweep off (the API never depends on it). */
  expirySweepIntervalMs: number;
  sseHeartbeatMs: number;
  /** How long a confirm (or one refund call) waits for the payment provider; no connection is held meanwhile. */
  paymentTimeoutMs: number;
  /** Delay of each answer of the built-in simulated payment provider (benchmarks and tests with realistic payments). */
  paymentSimLatencyMs: number;
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A secret generated once and kept under the data folder, so development restarts keep sessions valid. */
function devSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, 'secrets', name);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch {
    // not generated yet
  }
  const secret = randomBytes(32).toString('base64url');
  // The data folder itself stays traversable: the embedded database may run as another user.
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

function trustProxyValue(raw: string | undefined): false | number | string[] {
  const parsed = parseTrustProxy(raw);
  return 'value' in parsed ? parsed.value : false; // an error was reported by the schema already
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    workers: e.WORKERS,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    db: {
      poolMax: e.DB_POOL_MAX,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: e.DB_LOCK_TIMEOUT_MS,
      connectionTimeoutMs: e.DB_CONNECTION_TIMEOUT_MS,
    },
    jwtSecret: e.JWT_SECRET ?? devSecret(dataDir, 'jwt-secret'),
    ticketSigningSecret: e.TICKET_SIGNING_SECRET,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    admin:
      e.ADMIN_EMAIL !== undefined && e.ADMIN_PASSWORD !== undefined
        ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD, promoteExisting: e.ADMIN_PROMOTE_EXISTING }
        : undefined,
    holdTtlSeconds: e.HOLD_TTL_SECONDS,
    showCleaningMinutes: e.SHOW_CLEANING_MINUTES,
    authRateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    registerRateLimitPerHour: e.REGISTER_RATE_LIMIT_PER_HOUR,
    maxPendingHoldsPerUser: e.MAX_PENDING_HOLDS_PER_USER,
    maxSeatsPerUserPerShow: e.MAX_SEATS_PER_USER_PER_SHOW,
    reholdCooldownSeconds: e.REHOLD_COOLDOWN_SECONDS,
    paymentWebhookSecret: e.PAYMENT_WEBHOOK_SECRET ?? devSecret(dataDir, 'payment-webhook-secret'),
    currency: e.CURRENCY,
    logLevel: e.LOG_LEVEL,
    corsOrigins:
      e.CORS_ORIGINS.trim() === '*'
        ? '*'
        : e.CORS_ORIGINS.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    bodyLimit: e.BODY_LIMIT,
    trustProxy: trustProxyValue(e.TRUST_PROXY),
    seedDemo: e.SEED_DEMO,
    expirySweepIntervalMs: e.EXPIRY_SWEEP_INTERVAL_MS,
    sseHeartbeatMs: e.SSE_HEARTBEAT_MS,
    paymentTimeoutMs: e.PAYMENT_TIMEOUT_MS,
    paymentSimLatencyMs: e.PAYMENT_SIM_LATENCY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
