/** Assembles the OpenAPI 3.1 document from the same route definitions that validate requests. */
import { z } from 'zod';
import type { RouteDoc } from './route.ts';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from './raw-body.ts';
import { problemSchema } from './schemas.ts';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out['$schema'];
  return out;
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape;
  return {};
}

const BAD_URL = 'the path or query string is not validly percent-encoded UTF-8';

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

export function buildOpenApi(routes: RouteDoc[], info: { title: string; version: string; description: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const { method, path, def } of routes) {
    const oasPath = path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const [name, s] of Object.entries(objectShape(def.params))) {
      parameters.push({ name, in: 'path', required: true, schema: jsonSchema(s, 'input') });
    }
    for (const [name, s] of Object.entries(objectShape(def.query))) {
      const required = !s.safeParse(undefined).success;
      const description = s.description;
      parameters.push({ name, in: 'query', required, schema: jsonSchema(s, 'input'), ...(description ? { description } : {}) });
    }
    for (const [name, h] of Object.entries(def.headers ?? {})) {
      parameters.push({ name, in: 'header', required: h.required ?? false, description: h.description, schema: { type: 'string' } });
    }
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(def.responses)) {
      const contentType = r.contentType ?? 'application/json';
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [contentType]: { schema: r.schema === problemSchema ? { $ref: '#/components/schemas/Problem' } : jsonSchema(r.schema, 'output') } } } : {}),
      };
    }
    if (def.body !== undefined || def.query !== undefined) {
      responses['422'] ??= { description: 'VALIDATION_FAILED: the path of each bad field is in `errors`', content: problemContent };
    }
    if (def.body !== undefined) {
      responses['400'] ??= {
        description: `MALFORMED_JSON: not JSON, nested deeper than ${MAX_JSON_DEPTH} levels, more than ${MAX_JSON_VALUES} values, or a corrupt compressed body (Content-Encoding gzip, deflate or br); MALFORMED_URL: ${BAD_URL}`,
        content: problemContent,
      };
      responses['413'] ??= { description: 'PAYLOAD_TOO_LARGE', content: problemContent };
    }
    responses['400'] ??= { description: `MALFORMED_URL: ${BAD_URL}`, content: problemContent };
    if (def.access === 'user' || def.access === 'admin') {
      responses['401'] ??= { description: 'UNAUTHENTICATED', content: problemContent };
    }
    if (def.access === 'admin') responses['403'] ??= { description: 'FORBIDDEN: needs the admin role', content: problemContent };
    responses['503'] ??= { description: 'SERVICE_UNAVAILABLE, with Retry-After', content: problemContent };

    (paths[oasPath] ??= {})[method] = {
      tags: [def.tag],
      summary: def.summary,
      ...(def.description ? { description: def.description } : {}),
      operationId: `${method}${oasPath.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(def.body, 'input') } } } } : {}),
      responses,
      ...(def.access === 'public' ? {} : { security: def.access === 'optional' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }] }),
    };
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: jsonSchema(problemSchema, 'output') },
    },
  };
}
