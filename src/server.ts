/** Listening and stopping, shared by main.ts and the tests (which listen on port 0). */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startWebServer(handler: RequestListener, port: number, host?: string): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 30_000;
  const addr = server.address() as AddressInfo;
  const shownHost = addr.address === '0.0.0.0' || addr.address === '::' ? 'localhost' : addr.address;
  return { server, url: `http://${shownHost}:${addr.port}` };
}

/** Stops taking connections, lets requests in flight finish, then cuts what is left after timeoutMs. */
export async function stopWebServer(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
  timer.unref();
  // Keep-alive sockets that become idle after their last response are closed as they go.
  const sweeper = setInterval(() => server.closeIdleConnections(), 100);
  sweeper.unref();
  await closed;
  clearTimeout(timer);
  clearInterval(sweeper);
}
