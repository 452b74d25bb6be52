/**
 * The web app (web/, built into dist/web by web/build.ts): the booking pages at `/`, the
 * door page for ushers at `/door`, and their assets. Both pages talk to the public API
 * only. Asset names carry no hash, so every file is revalidated (ETag) rather than cached
 * blindly: a new build is seen on the next load.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { serviceUnavailable } from '../domain/errors.ts';
import { sendProblem } from './problem.ts';

/** dist/web beside src/ (tsx) or inside dist/ (node dist/main.js): both are one level below the root. */
export const webRoot = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export function webAppRoutes(root: string = webRoot): Router {
  const router = express.Router();
  const built = existsSync(`${root}index.html`);
  const page = (file: string) => (_req: express.Request, res: express.Response) => {
    if (!built) {
      sendProblem(res, serviceUnavailable('The web app is not built: run `npm run build:web` (npm start and npm run build do it).'));
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(`${root}${file}`);
  };
  router.get('/', page('index.html'));
  router.get('/door', page('door.html'));
  if (built) router.use(express.static(root, { index: false, cacheControl: false, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  return router;
}
