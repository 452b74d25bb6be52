/**
 * Structured JSON logs; secrets are redacted wherever they might appear.
 *
 * Lines go to stdout through an asynchronous, buffered sonic-boom destination: a log call
 * appends to a buffer and returns; the buffer is written once it holds BATCH_BYTES (about
 * twenty request lines) or FLUSH_MS after the last write, whichever comes first, on the
 * thread pool. pino's default, a synchronous write per line, put a system call on every
 * request (10–25% of the server's CPU in a flash sale), and an unbatched asynchronous write
 * costs about as much in thread-pool hand-offs (ADR 0015). Nothing is lost at the end: pino
 * flushes the buffer synchronously when the process exits — a normal exit, process.exit()
 * after shutdown or a fatal start-up error, and an uncaught exception alike (logger.test.ts).
 */
import { pino, type Logger } from 'pino';

/** A write is issued once this much is buffered … */
const BATCH_BYTES = 4096;
/** … or this long after the last one, so that a quiet server's lines still appear at once. */
const FLUSH_MS = 100;

export function createLogger(level: string, stream?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["marquee-signature"]',
        'password',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        '*.paymentToken',
      ],
      censor: '[redacted]',
    },
  };
  return pino(options, stream ?? pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES, periodicFlush: FLUSH_MS }));
}
