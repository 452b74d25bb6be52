import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, listOf, problem } from '../../http/schemas.ts';
import { movieCreate, movieListQuery, moviePatch, movieSchema } from './schemas.ts';
import type { MovieService } from './service.ts';

export function movieRoutes(ctx: RouteContext, movies: MovieService): void {
  const tag = 'Movies';
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/movies',
      operationId: 'listMovies',
      tag,
      summary: 'List movies (search by title, filter by genre and language)',
      access: 'public',
      query: movieListQuery,
      responses: { 200: { description: 'A page of movies, by title', schema: listOf(movieSchema) } },
    },
    async ({ query }, _req, res) => {
      res.json(await movies.list(query));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/movies/:id',
      operationId: 'getMovie',
      tag,
      summary: 'Get a movie',
      access: 'public',
      params: idParams,
      responses: { 200: { description: 'The movie', schema: movieSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, _req, res) => {
      res.json(await movies.get(params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/movies',
      operationId: 'createMovie',
      tag,
      summary: 'Add a movie',
      access: 'admin',
      body: movieCreate,
      responses: { 201: { description: 'Created', schema: movieSchema, headers: ['Location'] } },
    },
    async ({ body }, _req, res) => {
      const movie = await movies.create(body);
      res.status(201).location(`${ctx.prefix}/movies/${movie.id}`).json(movie);
    },
  );
  defineRoute(
    ctx,
    {
      method: 'patch',
      path: '/movies/:id',
      operationId: 'updateMovie',
      tag,
      summary: 'Change some fields of a movie',
      access: 'admin',
      params: idParams,
      body: moviePatch,
      responses: { 200: { description: 'Updated', schema: movieSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params, body }, _req, res) => {
      res.json(await movies.update(params.id, body));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'delete',
      path: '/movies/:id',
      operationId: 'deleteMovie',
      tag,
      summary: 'Remove a movie (kept for booking history)',
      access: 'admin',
      params: idParams,
      responses: { 204: { description: 'Removed' }, 404: problem('NOT_FOUND'), 409: problem('HAS_DEPENDENTS: upcoming shows exist') },
    },
    async ({ params }, _req, res) => {
      await movies.remove(params.id);
      res.status(204).end();
    },
  );
}
