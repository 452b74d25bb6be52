/**
 * The floor under the server's per-request cost, for `bench/stack.ts --floor`: GET /health
 * answering {"status":"ok"} from plain node:http (FLOOR_KIND=bare) or from a lean Express 5
 * app (x-powered-by, etag off, simple query parser, one route) answering with `res.json`
 * (FLOOR_KIND=express) or writing the JSON itself as Marquee's res.json does
 * (FLOOR_KIND=express-lean, src/http/json-response.ts). Prints FLOOR_LISTENING when it listens.
 */
import http from 'node:http';
import express from 'express';

const port = Number(process.env['FLOOR_PORT']);
const kind = process.env['FLOOR_KIND'] ?? 'bare';
const body = Buffer.from(JSON.stringify({ status: 'ok' }));

let listener: http.RequestListener;
if (kind.startsWith('express')) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.get('/health', (_req, res) => {
    if (kind === 'express') {
      res.json({ status: 'ok' });
      return;
    }
    const text = JSON.stringify({ status: 'ok' });
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  });
  listener = app;
} else {
  listener = (req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404);
      res.end();
    }
  };
}
const server = http.createServer(listener);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`FLOOR_LISTENING ${process.pid}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
