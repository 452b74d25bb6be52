/**
 * A small HTTP/1.1 load-generator client on node:http with a keep-alive agent. Latency is
 * measured by the callers with performance.now() around request().
 */
import http from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body when keepBody was asked for; empty otherwise. */
  body: Buffer;
  bytes: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  json?: unknown;
  keepBody?: boolean;
  timeoutMs?: number;
}

const EMPTY = Buffer.alloc(0);

export class HttpClient {
  readonly agent: http.Agent;

  constructor(
    readonly host: string,
    readonly port: number,
    opts: { maxSockets: number; keepAlive?: boolean },
  ) {
    const keepAlive = opts.keepAlive ?? true;
    // maxFreeSockets as large as maxSockets: otherwise the agent closes idle sockets past 256.
    this.agent = new http.Agent({ keepAlive, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'fifo' });
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpAnswer> {
    const payload = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
    const headers: http.OutgoingHttpHeaders = { ...opts.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const keep = opts.keepBody ?? false;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = http.request({ host: this.host, port: this.port, method, path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (keep) chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: keep ? Buffer.concat(chunks) : EMPTY, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(opts.timeoutMs ?? 60_000, () => req.destroy(new Error('request timed out')));
      req.end(payload);
    });
  }

  /** Opens up to n keep-alive connections ahead of a measured phase (so the phase measures requests, not TCP accepts). */
  async prewarm(n: number, path = '/health'): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.request('GET', path).catch(() => undefined)));
  }

  close(): void {
    this.agent.destroy();
  }
}

/** "201", "409 SEATS_UNAVAILABLE", "ERR ECONNRESET": how a request ended, for the answer counts. */
export function answerKey(status: number, body?: Buffer): string {
  if (status < 400 || body === undefined || body.length === 0) return String(status);
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'code' in parsed && typeof parsed.code === 'string') return `${status} ${parsed.code}`;
  } catch {
    // not JSON
  }
  return String(status);
}

export function errorKey(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return `ERR ${code ?? err.message}`;
  }
  return 'ERR unknown';
}

export function parseJson(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8'));
}
