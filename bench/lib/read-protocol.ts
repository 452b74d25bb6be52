/** Messages between bench/scenarios/browse.ts and bench/children/read-load.ts (IPC). */
import { z } from 'zod';

export const readInit = z.object({
  type: z.literal('init'),
  port: z.number().int(),
  path: z.string(),
  headers: z.record(z.string(), z.string()),
  connections: z.number().int(),
  warmupMs: z.number(),
  durationMs: z.number(),
});
export const readStart = z.object({ type: z.literal('start'), startAt: z.number() });
export const readExit = z.object({ type: z.literal('exit') });
export const readIncoming = z.discriminatedUnion('type', [readInit, readStart, readExit]);

export const readReady = z.object({ type: z.literal('ready') });
export const readResult = z.object({
  type: z.literal('result'),
  latencies: z.array(z.number()),
  answers: z.record(z.string(), z.number()),
  bytes: z.number(),
  windowMs: z.number(),
});
export type ReadResult = z.infer<typeof readResult>;
