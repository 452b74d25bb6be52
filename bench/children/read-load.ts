/**
 * One process of the read load generator: `connections` keep-alive connections (the lean
 * client of lib/raw-http.ts), each in a closed loop of GET path, for warm-up + duration from a start time the parent gives (so
 * that several of these processes run together). Sends every latency of the measured window.
 */
import { performance } from 'node:perf_hooks';
import type { z } from 'zod';
import { errorKey } from '../lib/http.ts';
import { closedLoop, sleep } from '../lib/load.ts';
import { getRequest, RawConnection } from '../lib/raw-http.ts';
import { readIncoming, type readInit, type ReadResult } from '../lib/read-protocol.ts';

type Init = z.infer<typeof readInit>;
let state: { init: Init; conns: RawConnection[]; request: Buffer } | undefined;

const send = (m: ReadResult | { type: 'ready' } | { type: 'error'; message: string }) => process.send?.(m);
const fail = (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });

async function run(startAt: number): Promise<ReadResult> {
  if (state === undefined) throw new Error('start before init');
  const { init, conns, request } = state;
  await sleep(Math.max(0, startAt - Date.now()));
  const latencies: number[] = [];
  const answers: Record<string, number> = {};
  let bytes = 0;
  const window = await closedLoop({
    concurrency: init.connections,
    warmupMs: init.warmupMs,
    durationMs: init.durationMs,
    iteration: async (vu, measured) => {
      const conn = conns[vu];
      if (conn === undefined) return;
      const t = performance.now();
      let answer: string;
      try {
        const r = await conn.send(request);
        answer = String(r.status);
        if (measured) bytes += r.bytes;
      } catch (err) {
        answer = errorKey(err);
      }
      if (measured) {
        latencies.push(performance.now() - t);
        answers[answer] = (answers[answer] ?? 0) + 1;
      }
    },
  });
  return { type: 'result', latencies, answers, bytes, windowMs: window.ms };
}

process.on('message', (raw: unknown) => {
  const parsed = readIncoming.safeParse(raw);
  if (!parsed.success) {
    fail(new Error(`bad message: ${parsed.error.message}`));
    return;
  }
  const m = parsed.data;
  switch (m.type) {
    case 'init': {
      const conns = Array.from({ length: m.connections }, () => new RawConnection('127.0.0.1', m.port));
      const request = getRequest('127.0.0.1', m.port, m.path, m.headers);
      state = { init: m, conns, request };
      // Open every connection (one request each) before the clock starts.
      Promise.all(conns.map((c) => c.send(request))).then(() => send({ type: 'ready' }), fail);
      break;
    }
    case 'start':
      run(m.startAt).then(send, fail);
      break;
    case 'exit':
      for (const c of state?.conns ?? []) c.close();
      process.exit(0);
  }
});
