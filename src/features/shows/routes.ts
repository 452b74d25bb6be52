import { defineRoute, type RouteContext } from '../../http/route.ts';
import { idParams, listOf, problem } from '../../http/schemas.ts';
import { seatMapSchema, showCreate, showListQuery, showSchema } from './schemas.ts';
import { sendTaggedJson } from '../../http/conditional.ts';
import type { SeatEventHub } from './seat-events.ts';
import type { ShowService } from './service.ts';

export function showRoutes(ctx: RouteContext, shows: ShowService, hub: SeatEventHub, opts: { heartbeatMs: number; streams: Set<() => void> }): void {
  const tag = 'Shows';
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows',
      operationId: 'listShows',
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
      operationId: 'getShow',
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
      operationId: 'createShow',
      tag,
      summary: 'Schedule a show of a movie on a screen',
      description: 'Creates the show and its own seats from the screen layout, priced per category.',
      access: 'admin',
      body: showCreate,
      responses: {
        201: { description: 'Created', schema: showSchema, headers: ['Location'] },
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
      operationId: 'cancelShow',
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
      operationId: 'getSeatMap',
      tag,
      summary: 'Seat map: every seat of the show with its live status',
      description: 'Sends an ETag; answers 304 to a matching If-None-Match.',
      access: 'public',
      params: idParams,
      headers: { 'If-None-Match': { description: 'ETag of a seat map you have' } },
      responses: {
        200: { description: 'The seat map', schema: seatMapSchema, headers: ['ETag'] },
        304: { description: 'Not modified: the If-None-Match ETag is current; no body', headers: ['ETag'] },
        404: problem('NOT_FOUND'),
      },
    },
    async ({ params }, req, res) => {
      // The cached map's bytes and ETag, written as they are (200, or 304 on a match).
      sendTaggedJson(req, res, await shows.seatMap(params.id));
    },
  );
  defineRoute(
    ctx,
    {
      method: 'get',
      path: '/shows/:id/seats/stream',
      operationId: 'streamSeats',
      tag,
      summary: 'Live seat map: server-sent events of seat status changes',
      description:
        'text/event-stream. First an `event: snapshot` with the whole map, then one unnamed event per change with data ' +
        '`{"seats":[{"id","status"}]}`, from every server process. Comment lines keep idle streams open. Every event has an ' +
        '`id`: a reconnect with `Last-Event-ID` gets the changes it missed (when the serving process still holds them all, ' +
        'the last 256 per show), else a fresh snapshot.',
      access: 'public',
      params: idParams,
      headers: { 'Last-Event-ID': { description: 'The id of the last event received (EventSource sends it on reconnecting): resume after it' } },
      responses: { 200: { description: 'The event stream', contentType: 'text/event-stream' }, 404: problem('NOT_FOUND') },
    },
    async ({ params }, req, res) => {
      const showId = params.id;
      await shows.get(showId); // 404 before the stream starts
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      const send = (chunk: string) => {
        if (!res.writableEnded) res.write(chunk);
      };
      const sendSnapshot = async () => {
        const id = hub.lastEventId(); // read before the map: the map is at least this recent
        const snapshot = await shows.seatMap(showId);
        send(`event: snapshot\nid: ${id}\ndata: ${JSON.stringify({ seats: snapshot.map.seats.map((s) => ({ id: s.id, status: s.status })) })}\n\n`);
      };
      const lastEventId = req.headers['last-event-id'];
      // Events that arrive before the snapshot is out wait for it, so none is lost or reordered.
      let pending: string[] | undefined = [];
      const unsubscribe = await hub.subscribe(showId, (event) => {
        if (event.resync === true) {
          if (pending) return; // the first snapshot is still on its way
          pending = [];
          sendSnapshot()
            .catch(() => undefined)
            .finally(() => {
              for (const chunk of pending ?? []) send(chunk);
              pending = undefined;
            });
          return;
        }
        const chunk = `id: ${hub.eventId(event)}\ndata: ${JSON.stringify({ seats: event.seats })}\n\n`;
        if (pending) pending.push(chunk);
        else send(chunk);
      });
      // A reconnect with Last-Event-ID: the changes it missed, when this process still has them
      // all (taken before any await: later ones reach the subscriber above); else a snapshot.
      const missed = typeof lastEventId === 'string' ? hub.replaySince(showId, lastEventId) : undefined;
      send('retry: 2000\n\n');
      try {
        if (missed === undefined) await sendSnapshot(); // read after subscribing: nothing falls between the two
        else for (const e of missed) send(`id: ${hub.eventId({ showId, seats: e.seats, seq: e.seq })}\ndata: ${JSON.stringify({ seats: e.seats })}\n\n`);
      } catch (err) {
        // The stream has started: end it; the client's EventSource reconnects after `retry`.
        req.log.warn({ err }, 'seat stream snapshot failed');
        unsubscribe();
        res.end();
        return;
      }
      for (const chunk of pending) send(chunk);
      pending = undefined;
      const heartbeat = setInterval(() => send(`: ping ${Date.now()}\n\n`), opts.heartbeatMs);
      heartbeat.unref();
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        clearInterval(heartbeat);
        unsubscribe();
        opts.streams.delete(end);
        if (!res.writableEnded) res.end();
      };
      opts.streams.add(end);
      req.on('close', end);
    },
  );
}
