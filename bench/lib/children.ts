/**
 * Helper processes of the benchmark (SQL-ceiling workers, read load generators): forked
 * with the tsx loader, driven over IPC with zod-checked messages. A child reports a failure
 * as { type: 'error', message }.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { BENCH_DIR, ROOT } from './procs.ts';

export const childError = z.object({ type: z.literal('error'), message: z.string() });

export function forkChild(script: string): ChildProcess {
  return fork(path.join(BENCH_DIR, 'children', script), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** The next message of the child that matches the schema; rejects on an error message or an exit. */
export function nextMessage<T>(child: ChildProcess, schema: z.ZodType<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (raw: unknown) => {
      const failed = childError.safeParse(raw);
      if (failed.success) {
        cleanup();
        reject(new Error(`${path.basename(child.spawnargs.at(-1) ?? 'child')}: ${failed.data.message}`));
        return;
      }
      const parsed = schema.safeParse(raw);
      if (parsed.success) {
        cleanup();
        resolve(parsed.data);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error('a helper process exited early'));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Asks each child to exit ({ type: 'exit' }); kills it after 10 s. */
export async function endChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) {
            resolve();
            return;
          }
          const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (c.connected) c.send({ type: 'exit' });
          else c.kill('SIGTERM');
        }),
    ),
  );
}
