/**
 * A lean HTTP/1.1 keep-alive client for the full-speed read phases: one socket per
 * connection, a request serialised once and written as is, and a response parser that only
 * reads the status line and the framing (Content-Length or chunked) and counts the body bytes.
 * node:http's client spends several times more CPU per request than a bare node:http server
 * spends per answer, so with it the reference would measure the client, not the server.
 */
import net from 'node:net';

export interface RawAnswer {
  status: number;
  bytes: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

type State =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end'; left: number }
  | { kind: 'chunk-trailer' };

export class RawConnection {
  private socket: net.Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private state: State = { kind: 'head' };
  private status = 0;
  private bytes = 0;
  private pending: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('close', () => {
        this.socket = undefined;
        this.fail(new Error('connection closed'));
      });
      s.on('error', (err) => this.fail(err));
    });
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.buf = Buffer.alloc(0);
    this.state = { kind: 'head' };
    p?.reject(err);
  }

  private done(): void {
    const p = this.pending;
    this.pending = undefined;
    this.state = { kind: 'head' };
    p?.resolve({ status: this.status, bytes: this.bytes });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const st = this.state;
      if (st.kind === 'head') {
        const end = this.buf.indexOf(HEADER_END);
        if (end < 0) return;
        const head = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(end + 4);
        this.status = Number(head.slice(9, 12));
        this.bytes = 0;
        const lower = head.toLowerCase();
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        if (/\r\ntransfer-encoding:[^\r]*chunked/.test(lower)) this.state = { kind: 'chunk-size' };
        else if (cl?.[1] !== undefined && Number(cl[1]) > 0) this.state = { kind: 'length', left: Number(cl[1]) };
        else {
          this.done();
          if (this.buf.length === 0) return;
        }
      } else if (st.kind === 'length') {
        const take = Math.min(st.left, this.buf.length);
        st.left -= take;
        this.bytes += take;
        this.buf = this.buf.subarray(take);
        if (st.left > 0) return;
        this.done();
        if (this.buf.length === 0) return;
      } else if (st.kind === 'chunk-size') {
        const eol = this.buf.indexOf(CRLF);
        if (eol < 0) return;
        const size = Number.parseInt(this.buf.toString('latin1', 0, eol), 16);
        this.buf = this.buf.subarray(eol + 2);
        this.state = size === 0 ? { kind: 'chunk-trailer' } : { kind: 'chunk-data', left: size };
      } else if (st.kind === 'chunk-data' || st.kind === 'chunk-end') {
        const take = Math.min(st.left, this.buf.length);
        st.left -= take;
        if (st.kind === 'chunk-data') this.bytes += take;
        this.buf = this.buf.subarray(take);
        if (st.left > 0) return;
        this.state = st.kind === 'chunk-data' ? { kind: 'chunk-end', left: 2 } : { kind: 'chunk-size' };
      } else {
        const eol = this.buf.indexOf(CRLF);
        if (eol < 0) return;
        this.buf = this.buf.subarray(eol + 2);
        if (eol === 0) {
          this.done();
          if (this.buf.length === 0) return;
        }
      }
    }
  }

  /** Sends one serialised request and resolves with the status and the body size. */
  async send(request: Buffer): Promise<RawAnswer> {
    this.socket ??= await this.connect();
    if (this.pending !== undefined) throw new Error('one request at a time per connection');
    const answer = new Promise<RawAnswer>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.socket.write(request);
    return answer;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

export function getRequest(host: string, port: number, path: string, headers: Record<string, string>): Buffer {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}:${port}`, 'Connection: keep-alive', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}
