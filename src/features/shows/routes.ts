import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, listOf, problem } from '../../http/schemas.ts';
import { seatMapSchema, showCreate, showListQuery, showSchema } from './schemas.ts';
import type { ShowService } from './service.ts';

/** True when an If-None-Match header names this ETag (or is *). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

export function showRoutes(ctx: RouteContext, shows: ShowService): void {
  const tag = 'Shows';
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows',
      tag,
      summary: 'List upcoming shows with movie and theatre summaries and available seats',
      access: 'public',
      query: showListQuery,
      responses: { 200: { description: 'A page of shows, by start time', schema: listOf(showSchema) } },
    },
    async ({ query }, _req, res) => {
      res.json(await shows.list(query));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows/:id',
      tag,
      summary: 'Get a show',
      access: 'public',
      params: idParams,
      responses: { 200: { description: 'The show', schema: showSchema }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, _req, res) => {
      res.json(await shows.get(params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/shows',
      tag,
      summary: 'Schedule a show of a movie on a screen',
      description: 'Creates the show and its own seats from the screen layout, priced per category.',
      access: 'admin',
      body: showCreate,
      responses: {
        201: { description: 'Created', schema: showSchema },
        404: problem('NOT_FOUND: movie or screen'),
        409: problem('SHOW_OVERLAP'),
      },
    },
    async ({ body }, _req, res) => {
      const show = await shows.create(body);
      res.status(201).location(`${ctx.prefix}/shows/${show.id}`).json(show);
    },
  );
  defineRoute(
    ctx,
    {
      method: 'post',
      path: '/shows/:id/cancel',
      tag,
      summary: 'Cancel a show and every active booking of it',
      access: 'admin',
      params: idParams,
      responses: { 200: { description: 'The cancelled show', schema: showSchema }, 404: problem('NOT_FOUND'), 409: problem('SHOW_NOT_CANCELLABLE') },
    },
    async ({ params }, _req, res) => {
      res.json(await shows.cancel(params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows/:id/seats',
      tag,
      summary: 'Seat map: every seat of the show with its live status',
      description: 'Sends an ETag; answers 304 to a matching If-None-Match.',
      access: 'public',
      params: idParams,
      headers: { 'If-None-Match': { description: 'ETag of a seat map you have' } },
      responses: { 200: { description: 'The seat map', schema: seatMapSchema }, 304: { description: 'Not modified' }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, req, res) => {
      const { body, etag } = await shows.seatMap(params.id);
      res.setHeader('ETag', etag);
      res.setHeader('Cache-Control', 'no-cache');
      if (matchesEtag(req.headers['if-none-match'], etag)) {
        res.status(304).end();
        return;
      }
      res.type('application/json').send(body);
    },
  );
}
