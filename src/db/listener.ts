/**
 * One LISTEN connection per process, outside the pool, that reconnects by itself. Every
 * server process gets every NOTIFY, so changes made through one process reach the
 * subscribers of all of them.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export interface Listener {
  /** True while the LISTEN connection is up (caches may trust invalidations). */
  listening(): boolean;
  /** Resolves once LISTEN is in place (or after timeoutMs, whichever comes first). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * onReconnect runs after a lost connection is back: notifications sent meanwhile were
 * missed, so subscribers should re-read what they show.
 */
export function listen(
  url: string,
  channels: string[],
  onMessage: (channel: string, payload: string) => void,
  logger?: Logger,
  onReconnect?: () => void,
): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let connectedOnce = false;
  let markReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let delay = 250;
  let timer: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, application_name: 'marquee-listener', keepAlive: true });
    c.on('notification', (msg) => {
      if (channels.includes(msg.channel) && msg.payload !== undefined) onMessage(msg.channel, msg.payload);
    });
    c.on('error', (err) => {
      logger?.warn({ err }, 'seat event listener lost its connection');
      retry(c);
    });
    c.on('end', () => retry(c));
    try {
      await c.connect();
      for (const channel of channels) await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      client = c;
      delay = 250;
      markReady();
      if (connectedOnce) onReconnect?.();
      connectedOnce = true;
    } catch (err) {
      logger?.warn({ err }, 'seat event listener could not connect; retrying');
      retry(c);
    }
  };
  const retry = (c: pg.Client) => {
    if (closed || timer !== undefined) return;
    if (client === c) {
      client = undefined;
      onReconnect?.(); // events may be missed from now on: caches must not be trusted
    }
    c.removeAllListeners('end');
    c.end().catch(() => undefined);
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 10_000);
  };
  void connect();

  return {
    listening: () => client !== undefined,
    async ready(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([readyPromise, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners('end');
        await c.end().catch(() => undefined);
      }
    },
  };
}
