/**
 * One process of the SQL ceiling: the booking service's hold() called in-process (the same
 * transaction and queries as POST /bookings, without HTTP, JSON, auth or validation) by
 * `concurrency` loops over its own pool. run.ts starts as many of these as the server has
 * workers, each with DB_POOL_MAX connections, so the database sees the same number of
 * connections as it does from the API. Talks to the parent over IPC.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { createDb } from '../../src/db/pool.ts';
import { createBookingService } from '../../src/features/bookings/service.ts';
import { createSimulatedProvider } from '../../src/features/payments/provider.ts';
import { createPaymentService } from '../../src/features/payments/service.ts';
import { createShowService } from '../../src/features/shows/service.ts';
import { createTicketCodec, ticketSigningKey } from '../../src/features/tickets/codes.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { STATUS_OF_KIND } from '../../src/http/problem.ts';
import { incoming, initMessage, type outgoing, type ResultMessage } from '../lib/ceiling-protocol.ts';
import { closedLoop, randomInt, shuffle, sleep } from '../lib/load.ts';

type Init = z.infer<typeof initMessage>;

const send = (m: z.infer<typeof outgoing>) => process.send?.(m);

let state: { init: Init; run: (startAt: number) => Promise<ResultMessage>; close: () => Promise<void> } | undefined;

async function setUp(init: Init) {
  const db = createDb({ connectionString: init.databaseUrl, max: init.poolMax, statementTimeoutMs: 5000, lockTimeoutMs: 2000, connectionTimeoutMs: 10_000 });
  const shows = createShowService({ db, currency: 'USD', cleaningMinutes: 15 });
  const bookings = createBookingService({
    db,
    payments: createPaymentService({ db, provider: createSimulatedProvider(), timeoutMs: 5000 }),
    shows,
    // Holds carry no tickets; any key will do.
    ticketCodes: createTicketCodec(ticketSigningKey({ jwtSecret: 'bench-ceiling-worker-not-a-secret-0123456789' })),
    holdTtlSeconds: init.holdTtlSeconds,
    maxPendingHoldsPerUser: init.maxPendingHoldsPerUser,
    maxSeatsPerUserPerShow: init.maxSeatsPerUserPerShow,
    reholdCooldownSeconds: init.reholdCooldownSeconds,
  });
  const { rows } = await db.pool.query<{ show_id: string; id: string }>(`SELECT show_id, id FROM show_seats WHERE show_id = ANY($1::uuid[])`, [init.showIds]);
  const free = new Map<string, string[]>();
  for (const r of rows) {
    let list = free.get(r.show_id);
    if (list === undefined) free.set(r.show_id, (list = []));
    list.push(r.id);
  }
  for (const list of free.values()) shuffle(list);
  const open = [...free.keys()];
  let seatsLeft = rows.length;
  const take = (): { showId: string; seatIds: string[] } | undefined => {
    while (open.length > 0) {
      const i = randomInt(open.length);
      const showId = open[i] as string;
      const list = free.get(showId) ?? [];
      if (list.length === 0) {
        open.splice(i, 1);
        continue;
      }
      const seatIds = list.splice(0, 1 + randomInt(4));
      seatsLeft -= seatIds.length;
      return { showId, seatIds };
    }
    return undefined;
  };
  // Open the pool's connections before the clock starts, as the server's are after warm-up.
  await Promise.all(Array.from({ length: init.poolMax }, () => db.pool.query('SELECT 1')));

  const run = async (startAt: number): Promise<ResultMessage> => {
    await sleep(Math.max(0, startAt - Date.now()));
    const latencies: number[] = [];
    const answers: Record<string, number> = {};
    const window = await closedLoop({
      concurrency: init.concurrency,
      warmupMs: init.warmupMs,
      durationMs: init.durationMs,
      stopWhen: () => open.length === 0,
      iteration: async (_vu, measured) => {
        const body = take();
        if (body === undefined) return;
        const user = { id: init.userIds[randomInt(init.userIds.length)] ?? '', role: 'customer' as const };
        const t = performance.now();
        let answer: string;
        try {
          await bookings.hold(user, body);
          answer = '201';
        } catch (err) {
          answer = err instanceof DomainError ? `${STATUS_OF_KIND[err.kind]} ${err.code}` : `ERR ${err instanceof Error ? err.message.slice(0, 80) : String(err)}`;
        }
        if (measured) {
          latencies.push(performance.now() - t);
          answers[answer] = (answers[answer] ?? 0) + 1;
        }
      },
    });
    return { type: 'result', latencies, answers, windowMs: window.ms, stoppedEarly: window.stoppedEarly, seatsLeft };
  };
  state = { init, run, close: () => db.close() };
  send({ type: 'ready', seats: rows.length });
}

process.on('message', (raw: unknown) => {
  const parsed = incoming.safeParse(raw);
  if (!parsed.success) {
    send({ type: 'error', message: `bad message: ${parsed.error.message}` });
    return;
  }
  const m = parsed.data;
  const fail = (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  switch (m.type) {
    case 'init':
      setUp(m).catch(fail);
      break;
    case 'start':
      if (state === undefined) {
        fail(new Error('start before init'));
        break;
      }
      state
        .run(m.startAt)
        .then((r) => send(r))
        .catch(fail);
      break;
    case 'exit':
      void (state?.close() ?? Promise.resolve()).finally(() => process.exit(0));
      break;
  }
});
