/**
 * docs/API.md, the repository's own API reference, stays in step with the OpenAPI document
 * the server publishes: every `### METHOD /path` heading names an operation of the document,
 * and every operation of the document has its heading; every error code the document lists
 * is named in it. Also: the relative links of the README and of docs/API.md resolve inside
 * the repository (a clone has nothing beside it).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './helpers.ts';

const root = path.resolve(import.meta.dirname, '..');
const METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'];

/** `METHOD /path` of every `### METHOD /path` heading of docs/API.md. */
function documentedRoutes(markdown: string): string[] {
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    const m = /^###\s+(GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS|TRACE)\s+(\/\S*)\s*$/.exec(line);
    if (m !== null) out.push(`${m[1]} ${m[2]}`);
  }
  return out;
}

function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((href) => !/^[a-z]+:/i.test(href) && !href.startsWith('#'))
    .map((href) => href.split('#')[0] ?? '');
}

describe('docs/API.md', () => {
  let t: TestApp;
  let operations: string[];
  let codes: Set<string>;
  const markdown = readFileSync(path.join(root, 'docs/API.md'), 'utf8');

  before(async () => {
    t = await startTestApp();
    const doc = await t.request<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    // Every problem `code` the document names: the string enums of UPPER_SNAKE values.
    codes = new Set<string>();
    JSON.stringify(doc.body, (_key, value: unknown) => {
      const v = value as { type?: unknown; enum?: unknown } | null;
      if (v !== null && typeof v === 'object' && v.type === 'string' && Array.isArray(v.enum)) {
        for (const e of v.enum) if (typeof e === 'string' && /^[A-Z][A-Z_]+$/.test(e)) codes.add(e);
      }
      return value;
    });
    operations = Object.entries(doc.body.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
  });
  after(async () => {
    await t.close();
  });

  it('documents every operation of the OpenAPI document, and nothing the document lacks, once each', () => {
    const documented = documentedRoutes(markdown);
    assert.ok(documented.length >= 30, `found only ${documented.length} route headings`);
    assert.deepEqual(
      documented.filter((r, i) => documented.indexOf(r) !== i),
      [],
      'documented twice',
    );
    assert.deepEqual(
      operations.filter((r) => !documented.includes(r)),
      [],
      'in the OpenAPI document but not in docs/API.md',
    );
    assert.deepEqual(
      documented.filter((r) => !operations.includes(r)),
      [],
      'in docs/API.md but not in the OpenAPI document',
    );
  });

  it('names every error code the OpenAPI document lists', () => {
    assert.ok(codes.size >= 20, `found only ${codes.size} codes`);
    assert.deepEqual(
      [...codes].filter((code) => !markdown.includes(`\`${code}\``)),
      [],
    );
  });

  it('the README and docs/API.md link only to files inside the repository, and the README links docs/API.md', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    assert.ok(relativeLinks(readme).includes('docs/API.md'), 'README links docs/API.md');
    const broken = [
      ...relativeLinks(readme).map((href) => ({ from: 'README.md', href, file: path.resolve(root, href) })),
      ...relativeLinks(markdown).map((href) => ({ from: 'docs/API.md', href, file: path.resolve(root, 'docs', href) })),
    ].filter(({ file }) => !file.startsWith(root + path.sep) || !existsSync(file));
    assert.deepEqual(
      broken.map(({ from, href }) => `${from} → ${href}`),
      [],
    );
  });
});
