/**
 * The bare reference: the seat-map body, read once from a file into memory, served by plain
 * node:http with the same ETag / 304 behaviour and nothing else (no framework, no database).
 * BARE_WORKERS > 1 runs that many processes on one port with node:cluster, as WORKERS does
 * for the server. Each process prints BARE_LISTENING when it listens.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const port = Number(process.env['BARE_PORT']);
const workers = Number(process.env['BARE_WORKERS'] ?? '1');
const bodyFile = process.env['BARE_BODY_FILE'];
const etag = process.env['BARE_ETAG'] ?? '"bare"';

if (!Number.isInteger(port) || bodyFile === undefined) {
  console.error('BARE_PORT and BARE_BODY_FILE are required');
  process.exit(2);
}

function serve(file: string): void {
  const body = readFileSync(file);
  const server = http.createServer((req, res) => {
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'no-cache' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, etag, 'cache-control': 'no-cache' });
    res.end(body);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`BARE_LISTENING ${process.pid}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  });
} else {
  serve(bodyFile);
}
