/**
 * The live seat map (GET /api/v1/shows/{id}/seats/stream, text/event-stream) as an async
 * iterator, over fetch, so it works where EventSource does not (Node.js) and can be stopped
 * with an AbortSignal. Each event carries its `id` when the server sends one: pass the last
 * one as `lastEventId` when reconnecting to resume (`Last-Event-ID`).
 */

export interface SeatChange {
  id: string;
  status: 'available' | 'held' | 'booked';
}

export interface SeatStreamEvent {
  /** `snapshot`: the whole map; `change`: only the seats that changed. */
  type: 'snapshot' | 'change';
  /** The event id, when the server sent one. */
  id: string | undefined;
  seats: SeatChange[];
}

export interface SeatStreamOptions {
  signal?: AbortSignal;
  /** Resume after this event (sent as `Last-Event-ID`). */
  lastEventId?: string;
}

export async function* seatStream(
  doFetch: (request: Request) => Promise<Response>,
  url: string,
  options: SeatStreamOptions = {},
): AsyncGenerator<SeatStreamEvent, void, undefined> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await doFetch(new Request(url, { headers, ...(options.signal ? { signal: options.signal } : {}) }));
  if (response.status !== 200 || response.body === null) {
    const text = await response.text();
    throw new Error(`seat stream: ${response.status} ${text.slice(0, 300)}`);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = text;
          else if (field === 'id') id = text;
          else if (field === 'data') data.push(text);
        }
        if (data.length === 0) continue; // a heartbeat comment
        const body = JSON.parse(data.join('\n')) as { seats: SeatChange[] };
        yield { type: event === 'snapshot' ? 'snapshot' : 'change', id, seats: body.seats };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
