/**
 * Builds the web app (web/) into dist/web with esbuild: web/src/app.ts and web/src/door.ts
 * bundled (with the typed client from clients/typescript) into dist/web/assets, the HTML
 * pages and the stylesheet copied beside them. Runs before `npm start` and `npm test`
 * (prestart, pretest) and in `npm run build`; it takes well under a second.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../dist/web/');

const started = performance.now();
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: here('./src/app.ts'), door: here('./src/door.ts') },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  platform: 'browser',
  outdir: `${out}assets`,
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
for (const page of ['index.html', 'door.html', 'styles.css', 'door.css']) await cp(here(`./${page}`), `${out}${page}`);
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`web app built into dist/web (${(bytes / 1024).toFixed(1)} KiB of JavaScript) in ${Math.round(performance.now() - started)} ms`);
