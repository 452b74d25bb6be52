import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeMovie, makeShow } from '../../../test/builders.ts';
import { signUp, signUpAdmin, startTestApp, type SignedIn, type TestApp, type Page } from '../../../test/helpers.ts';
import { LIST_MOVIES_SQL } from './repo.ts';

interface MovieBody {
  id: string;
  title: string;
  description: string | null;
  durationMinutes: number;
  language: string;
  genres: string[];
  certificate: string | null;
  releaseDate: string | null;
  posterUrl: string | null;
  createdAt: string;
}

let t: TestApp;
let admin: SignedIn;
let customer: SignedIn;
before(async () => {
  t = await startTestApp();
  admin = await signUpAdmin(t);
  customer = await signUp(t);
});
after(async () => {
  await t.close();
});

describe('movies: writes', () => {
  it('create: admin with every field → 201 with the contract shape', async () => {
    const res = await t.request<MovieBody>('POST', '/api/v1/movies', {
      token: admin.token,
      body: {
        title: 'The Grand Budapest Hotel',
        description: 'A concierge and his lobby boy.',
        durationMinutes: 99,
        language: 'English',
        genres: ['Comedy', 'drama', 'comedy'],
        certificate: 'R',
        releaseDate: '2014-03-07',
        posterUrl: 'https://example.com/gbh.jpg',
      },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['certificate', 'createdAt', 'description', 'durationMinutes', 'genres', 'id', 'language', 'posterUrl', 'releaseDate', 'title']);
    assert.deepEqual(res.body.genres, ['Comedy', 'drama'], 'case kept, duplicates dropped case-insensitively');
    assert.equal(res.body.releaseDate, '2014-03-07');
    assert.equal(res.headers.get('location'), `/api/v1/movies/${res.body.id}`);
    const get = await t.request<MovieBody>('GET', `/api/v1/movies/${res.body.id}`);
    assert.deepEqual(get.body, res.body);
  });

  it('create: anonymous → 401, customer → 403, nothing stored', async () => {
    const body = { title: 'Nope', durationMinutes: 90, language: 'English' };
    assert.equal((await t.request('POST', '/api/v1/movies', { body })).status, 401);
    const res = await t.request<{ code: string }>('POST', '/api/v1/movies', { token: customer.token, body });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'FORBIDDEN');
    assert.equal((await t.sql(`SELECT 1 FROM movies WHERE title = 'Nope'`)).length, 0);
  });

  it('create: missing and out-of-range fields → 422 with each path', async () => {
    const res = await t.request<{ errors: { path: string }[] }>('POST', '/api/v1/movies', {
      token: admin.token,
      body: { durationMinutes: 601, posterUrl: 'javascript:alert(1)', id: 'x' },
    });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.errors.map((e) => e.path).sort(), ['durationMinutes', 'id', 'language', 'posterUrl', 'title']);
    for (const durationMinutes of [0, 1.5, '90']) {
      const r = await t.request('POST', '/api/v1/movies', { token: admin.token, body: { title: 'X', language: 'en', durationMinutes } });
      assert.equal(r.status, 422, String(durationMinutes));
    }
  });

  it('patch: changes only the given fields; null clears an optional one', async () => {
    const m = await makeMovie(t, admin, { description: 'old', certificate: 'PG' });
    const res = await t.request<MovieBody>('PATCH', `/api/v1/movies/${m.id}`, {
      token: admin.token,
      body: { title: 'Renamed', description: null },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.title, 'Renamed');
    assert.equal(res.body.description, null);
    assert.equal(res.body.certificate, 'PG');
    assert.equal(res.body.durationMinutes, m.durationMinutes);
    assert.equal((await t.request('PATCH', `/api/v1/movies/${m.id}`, { token: admin.token, body: {} })).status, 422);
    assert.equal((await t.request('PATCH', `/api/v1/movies/${m.id}`, { token: admin.token, body: { createdAt: '2020-01-01T00:00:00Z' } })).status, 422);
  });

  it('delete: with an upcoming show → 409 HAS_DEPENDENTS; without → 204, then 404 and gone from the list', async () => {
    const busy = await makeMovie(t, admin);
    await makeShow(t, admin, { movieId: busy.id });
    const refused = await t.request<{ code: string }>('DELETE', `/api/v1/movies/${busy.id}`, { token: admin.token });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'HAS_DEPENDENTS');

    const free = await makeMovie(t, admin, { title: 'zz-to-be-removed' });
    assert.equal((await t.request('DELETE', `/api/v1/movies/${free.id}`, { token: admin.token })).status, 204);
    assert.equal((await t.request('GET', `/api/v1/movies/${free.id}`)).status, 404);
    const list = await t.request<Page<MovieBody>>('GET', '/api/v1/movies?q=zz-to-be-removed');
    assert.equal(list.body.items.length, 0);
    const [row] = await t.sql<{ deleted_at: Date | null }>(`SELECT deleted_at FROM movies WHERE id = $1`, [free.id]);
    assert.ok(row?.deleted_at, 'kept as a soft delete for history');
  });

  it('delete: a show in the past does not block removal, and that show stays readable', async () => {
    const m = await makeMovie(t, admin, { title: 'Old Feature' });
    const show = await makeShow(t, admin, { movieId: m.id });
    await t.sql(`UPDATE shows SET starts_at = now() - interval '3 days', ends_at = now() - interval '2 days 22 hours', busy_until = now() - interval '2 days 21 hours' WHERE id = $1`, [show.id]);
    assert.equal((await t.request('DELETE', `/api/v1/movies/${m.id}`, { token: admin.token })).status, 204);
    const res = await t.request<{ movie: { title: string } }>('GET', `/api/v1/shows/${show.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.movie.title, 'Old Feature');
  });

  it('get: unknown or malformed id → 404', async () => {
    assert.equal((await t.request('GET', '/api/v1/movies/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await t.request('GET', '/api/v1/movies/not-a-uuid')).status, 404);
  });
});

describe('movies: list', () => {
  it('list: q is a case-insensitive substring of the title; genre and language filter', async () => {
    await makeMovie(t, admin, { title: 'Star Quest: Origins', genres: ['sci-fi'], language: 'English' });
    await makeMovie(t, admin, { title: 'star quest 2', genres: ['sci-fi', 'action'], language: 'French' });
    await makeMovie(t, admin, { title: 'Quiet Meadow', genres: ['drama'], language: 'English' });
    const q = await t.request<Page<MovieBody>>('GET', '/api/v1/movies?q=STAR%20QUEST');
    assert.deepEqual(q.body.items.map((m) => m.title).sort(), ['Star Quest: Origins', 'star quest 2']);
    const genre = await t.request<Page<MovieBody>>('GET', '/api/v1/movies?q=quest&genre=Action');
    assert.deepEqual(genre.body.items.map((m) => m.title), ['star quest 2']);
    const lang = await t.request<Page<MovieBody>>('GET', '/api/v1/movies?q=quest&language=english');
    assert.deepEqual(lang.body.items.map((m) => m.title), ['Star Quest: Origins']);
    const wildcard = await t.request<Page<MovieBody>>('GET', '/api/v1/movies?q=%25');
    assert.equal(wildcard.status, 200);
    assert.equal(wildcard.body.items.length, 0, 'LIKE wildcards in q are literal');
  });

  it('list: paging returns every movie exactly once even while movies are added', async () => {
    const prefix = `page-${Date.now()}`;
    const created: string[] = [];
    for (let i = 0; i < 11; i++) created.push((await makeMovie(t, admin, { title: `${prefix} ${String(i).padStart(2, '0')}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/movies?q=${prefix}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.request<Page<MovieBody>>('GET', url);
      assert.equal(res.status, 200);
      seen.push(...res.body.items.map((m) => m.id));
      cursor = res.body.nextCursor;
      // Movies added mid-way, sorting before and after the cursor.
      if (pages === 1) {
        await makeMovie(t, admin, { title: `${prefix} 00a` });
        await makeMovie(t, admin, { title: `${prefix} 99` });
      }
      pages++;
    } while (cursor !== null && pages < 20);
    assert.equal(new Set(seen).size, seen.length, 'no movie twice');
    for (const id of created) assert.ok(seen.includes(id), 'every movie that existed throughout is seen');
  });

  it('list: bad limit or cursor → 422 naming the query parameter', async () => {
    const big = await t.request<{ errors: { path: string }[] }>('GET', '/api/v1/movies?limit=101');
    assert.equal(big.status, 422);
    assert.equal(big.body.errors[0]?.path, 'limit');
    assert.equal((await t.request('GET', '/api/v1/movies?limit=0')).status, 422);
    const cursor = await t.request<{ errors: { path: string }[] }>('GET', '/api/v1/movies?cursor=garbage');
    assert.equal(cursor.status, 422);
    assert.equal(cursor.body.errors[0]?.path, 'cursor');
    const def = await t.request<Page<MovieBody>>('GET', '/api/v1/movies');
    assert.ok(def.body.items.length <= 20);
  });

  it('search: on 20,000 movies the title search is served by the trigram index', async () => {
    await t.sql(
      `INSERT INTO movies (title, duration_minutes, language)
       SELECT 'Generated film ' || md5(i::text), 100, 'English' FROM generate_series(1, 20000) i`,
    );
    await t.sql('VACUUM ANALYZE movies'); // as autovacuum would: flushes the GIN pending list
    const plan = await t.sql<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${LIST_MOVIES_SQL}`, ['abc12', null, null, null, null, 21]);
    const text = JSON.stringify(plan);
    assert.match(text, /movies_title_trgm_idx/, text);
  });
});
