import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, listOf, problem } from '../../http/schemas.ts';
import { screenCreate, screenSchema, theatreCreate, theatreListQuery, theatrePatch, theatreSchema, theatreWithScreens } from './schemas.ts';
import type { TheatreService } from './service.ts';

export function theatreRoutes(ctx: RouteContext, theatres: TheatreService): void {
  const tag = 'Theatres';
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/theatres',
      operationId: 'listTheatres',
      tag,
      summary: 'List theatres (filter by city, search by name)',
      access: 'public',
      query: theatreListQuery,
      responses: { 200: { description: 'A page of theatres, by name', schema: listOf(theatreSchema) } },
    },
    async ({ query }, _req, res) => {
      res.json(await theatres.list(query));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/theatres/:id',
      operationId: 'getTheatre',
      tag,
      summary: 'Get a theatre with its screens',
      access: 'public',
      params: idParams,
      responses: { 200: { description: 'The theatre', schema: theatreWithScreens }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, _req, res) => {
      res.json(await theatres.get(params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/theatres',
      operationId: 'createTheatre',
      tag,
      summary: 'Add a theatre',
      access: 'admin',
      body: theatreCreate,
      responses: { 201: { description: 'Created', schema: theatreSchema, headers: ['Location'] } },
    },
    async ({ body }, _req, res) => {
      const theatre = await theatres.create(body);
      res.status(201).location(`${ctx.prefix}/theatres/${theatre.id}`).json(theatre);
    },
  );
  defineRoute(
    ctx,
    {
      method: 'patch',
      path: '/theatres/:id',
      operationId: 'updateTheatre',
      tag,
      summary: 'Change some fields of a theatre',
      access: 'admin',
      params: idParams,
      body: theatrePatch,
      responses: { 200: { description: 'Updated', schema: theatreSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params, body }, _req, res) => {
      res.json(await theatres.update(params.id, body));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'delete',
      path: '/theatres/:id',
      operationId: 'deleteTheatre',
      tag,
      summary: 'Remove a theatre (kept for booking history)',
      access: 'admin',
      params: idParams,
      responses: { 204: { description: 'Removed' }, 404: problem('NOT_FOUND'), 409: problem('HAS_DEPENDENTS: upcoming shows exist') },
    },
    async ({ params }, _req, res) => {
      await theatres.remove(params.id);
      res.status(204).end();
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/theatres/:id/screens',
      operationId: 'createScreen',
      tag,
      summary: 'Add a screen with its seat layout (rows of seats, each row one category)',
      access: 'admin',
      params: idParams,
      body: screenCreate,
      responses: {
        201: { description: 'Created', schema: screenSchema, headers: ['Location'] },
        404: problem('NOT_FOUND'),
        409: problem('SCREEN_NAME_TAKEN'),
      },
    },
    async ({ params, body }, _req, res) => {
      const screen = await theatres.addScreen(params.id, body);
      res.status(201).location(`${ctx.prefix}/screens/${screen.id}`).json(screen);
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/screens/:id',
      operationId: 'getScreen',
      tag,
      summary: 'Get a screen with its seat layout',
      access: 'public',
      params: idParams,
      responses: { 200: { description: 'The screen', schema: screenSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, _req, res) => {
      res.json(await theatres.getScreen(params.id));
    },
  );
}
