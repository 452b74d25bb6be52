/**
 * Seeding: users in bulk straight into the database (one password hash shared by all, not
 * one slow hash each) with access tokens minted with the server's JWT secret; the catalogue
 * (movie, theatre, screens, shows) through the admin API, as an operator would make it.
 */
import type pg from 'pg';
import { hashPassword } from '../../src/features/auth/service.ts';
import { createTokens } from '../../src/features/auth/tokens.ts';
import { answerKey, HttpClient, parseJson } from './http.ts';
import { shuffle } from './load.ts';

export interface BenchUser {
  id: string;
  token: string;
}

export async function makeUsers(pool: pg.Pool, opts: { n: number; tag: string; jwtSecret: string }): Promise<BenchUser[]> {
  const hash = await hashPassword('bench-password-not-used');
  const emails = Array.from({ length: opts.n }, (_, i) => `bench-${opts.tag}-${i}@example.com`);
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO users (email, name, password_hash, role)
     SELECT e, 'Bench User', $2, 'customer' FROM unnest($1::text[]) WITH ORDINALITY AS t(e, i) ORDER BY i
     RETURNING id`,
    [emails, hash],
  );
  const tokens = createTokens(opts.jwtSecret, 4 * 3600);
  return Promise.all(rows.map(async (r) => ({ id: r.id, token: await tokens.signAccess({ id: r.id, role: 'customer' }) })));
}

export interface ScreenLayout {
  rows: number;
  seatsPerRow: number;
  premiumRows: number;
}

function rowLabel(i: number): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return i < 26 ? (letters[i] ?? 'A') : `${letters[Math.floor(i / 26) - 1] ?? 'A'}${letters[i % 26] ?? 'A'}`;
}

export class AdminApi {
  private constructor(
    private readonly http: HttpClient,
    private readonly token: string,
  ) {}

  static async signIn(http: HttpClient, email: string, password: string): Promise<AdminApi> {
    const r = await http.request('POST', '/api/v1/auth/login', { json: { email, password }, keepBody: true });
    if (r.status !== 200) throw new Error(`admin sign-in failed: ${answerKey(r.status, r.body)} ${r.body.toString()}`);
    const body = parseJson(r.body) as { accessToken?: unknown };
    if (typeof body.accessToken !== 'string') throw new Error('admin sign-in: no accessToken');
    return new AdminApi(http, body.accessToken);
  }

  async post(path: string, json: unknown): Promise<string> {
    const r = await this.http.request('POST', `/api/v1${path}`, { json, keepBody: true, headers: { authorization: `Bearer ${this.token}` } });
    if (r.status !== 201) throw new Error(`POST ${path} → ${answerKey(r.status, r.body)}: ${r.body.toString().slice(0, 500)}`);
    const body = parseJson(r.body) as { id?: unknown };
    if (typeof body.id !== 'string') throw new Error(`POST ${path}: no id in the answer`);
    return body.id;
  }

  async screen(theatreId: string, name: string, layout: ScreenLayout): Promise<string> {
    const rows = Array.from({ length: layout.rows }, (_, i) => ({
      label: rowLabel(i),
      seats: layout.seatsPerRow,
      category: i < layout.premiumRows ? 'premium' : 'standard',
    }));
    return this.post(`/theatres/${theatreId}/screens`, { name, rows });
  }
}

/** Runs jobs with at most `limit` at once, keeping the order of the results. */
export async function inBatches<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i];
      if (job !== undefined) out[i] = await job();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

export interface ShowPlan {
  key: string;
  screen: 'flash' | 'steady';
}

export interface Catalogue {
  shows: Map<string, string>;
  /** Each show's seats, from the database. */
  seatsOf(showIds: string[]): Promise<Map<string, string[]>>;
}

const PRICES = { standard: 1200, premium: 1800 };

/**
 * One movie, one theatre, a flash-sale screen and `steadyScreens` smaller screens; the planned
 * shows two hours apart on their screens, from two days ahead (no show overlaps another).
 */
export async function seedCatalogue(
  admin: AdminApi,
  pool: pg.Pool,
  opts: { flashLayout: ScreenLayout; steadyLayout: ScreenLayout; steadyScreens: number; plans: ShowPlan[]; progress: (m: string) => void },
): Promise<Catalogue> {
  const movieId = await admin.post('/movies', { title: 'The Benchmark', durationMinutes: 100, language: 'en', genres: ['drama'] });
  const theatreId = await admin.post('/theatres', { name: 'Bench Cinema', city: 'Benchville', address: '1 Load Street' });
  const flashScreen = await admin.screen(theatreId, 'Flash', opts.flashLayout);
  const steadyScreenIds = await inBatches(
    Array.from({ length: opts.steadyScreens }, (_, i) => () => admin.screen(theatreId, `Steady ${i + 1}`, opts.steadyLayout)),
    4,
  );
  const base = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 2 * 86_400_000;
  const slot = 2 * 3_600_000;
  let flashSlot = 0;
  let steadyIndex = 0;
  const jobs = opts.plans.map((p) => {
    let screenId: string;
    let startsAt: number;
    if (p.screen === 'flash') {
      screenId = flashScreen;
      startsAt = base + flashSlot++ * slot;
    } else {
      const i = steadyIndex++;
      screenId = steadyScreenIds[i % steadyScreenIds.length] ?? flashScreen;
      startsAt = base + Math.floor(i / steadyScreenIds.length) * slot;
    }
    return () => admin.post('/shows', { movieId, screenId, startsAt: new Date(startsAt).toISOString(), prices: PRICES });
  });
  let done = 0;
  const ids = await inBatches(
    jobs.map((j) => async () => {
      const id = await j();
      if (++done % 100 === 0) opts.progress(`${done}/${jobs.length} shows`);
      return id;
    }),
    6,
  );
  const shows = new Map(opts.plans.map((p, i) => [p.key, ids[i] ?? '']));
  return {
    shows,
    async seatsOf(showIds) {
      const { rows } = await pool.query<{ show_id: string; id: string }>(`SELECT show_id, id FROM show_seats WHERE show_id = ANY($1::uuid[])`, [showIds]);
      const out = new Map<string, string[]>(showIds.map((id) => [id, []]));
      for (const r of rows) out.get(r.show_id)?.push(r.id);
      for (const list of out.values()) shuffle(list);
      return out;
    },
  };
}
