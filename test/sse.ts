/** A minimal server-sent-events client for tests: collects events, waits for one. */
export interface SseEvent {
  event: string;
  data: string;
  /** The event's `id:` field, when it has one. */
  id?: string;
}

export interface SseStream {
  status: number;
  contentType: string;
  events: SseEvent[];
  comments: number;
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves once at least n comment blocks (heartbeats) have arrived in all. */
  waitForComments(n: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream', ...headers } });
  const events: SseEvent[] = [];
  const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  const commentWaiters: { n: number; resolve: () => void }[] = [];
  const stream: SseStream = {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    events,
    comments: 0,
    waitFor(pred, timeoutMs = 5000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    waitForComments(n, timeoutMs = 5000) {
      if (stream.comments >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`fewer than ${n} comments within ${timeoutMs} ms (got ${stream.comments})`)), timeoutMs);
        commentWaiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close() {
      controller.abort();
    },
  };
  if (res.body === null || res.status !== 200) return stream;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let idx;
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          let event = 'message';
          let id: string | undefined;
          const data: string[] = [];
          let isComment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            isComment = false;
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
            else if (line.startsWith('id:')) id = line.slice(3).trim();
          }
          if (isComment) {
            stream.comments++;
            for (const w of [...commentWaiters]) {
              if (stream.comments >= w.n) {
                commentWaiters.splice(commentWaiters.indexOf(w), 1);
                w.resolve();
              }
            }
            continue;
          }
          if (data.length === 0) continue;
          const e: SseEvent = { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) };
          events.push(e);
          for (const w of [...waiters]) {
            if (w.pred(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return stream;
}
