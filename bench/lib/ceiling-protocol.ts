/** Messages between run.ts and bench/children/ceiling-worker.ts (IPC). */
import { z } from 'zod';

export const initMessage = z.object({
  type: z.literal('init'),
  databaseUrl: z.string(),
  poolMax: z.number().int(),
  holdTtlSeconds: z.number().int(),
  maxPendingHoldsPerUser: z.number().int(),
  maxSeatsPerUserPerShow: z.number().int(),
  reholdCooldownSeconds: z.number().int(),
  userIds: z.array(z.string()),
  showIds: z.array(z.string()),
  concurrency: z.number().int(),
  warmupMs: z.number(),
  durationMs: z.number(),
});
export const startMessage = z.object({ type: z.literal('start'), startAt: z.number() });
export const exitMessage = z.object({ type: z.literal('exit') });
export const incoming = z.discriminatedUnion('type', [initMessage, startMessage, exitMessage]);

export const resultMessage = z.object({
  type: z.literal('result'),
  latencies: z.array(z.number()),
  answers: z.record(z.string(), z.number()),
  windowMs: z.number(),
  stoppedEarly: z.boolean(),
  seatsLeft: z.number(),
});
export type ResultMessage = z.infer<typeof resultMessage>;
export const readyMessage = z.object({ type: z.literal('ready'), seats: z.number() });
export const errorMessage = z.object({ type: z.literal('error'), message: z.string() });
export const outgoing = z.discriminatedUnion('type', [readyMessage, resultMessage, errorMessage]);

