/** Structured JSON logs; secrets are redacted wherever they might appear. */
import { pino, type Logger } from 'pino';

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
  return stream ? pino(options, stream) : pino(options);
}
