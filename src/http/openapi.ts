/** Assembles the OpenAPI 3.1 document from the same route definitions that validate requests. */
import { z } from 'zod';
import { noStoreOf, type RouteDoc } from './route.ts';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from './raw-body.ts';
import { problemSchema } from './schemas.ts';

type Json = Record<string, unknown>;

/** Formats whose meaning a client knows: zod's long regexes for them only bloat the document. */
const KNOWN_FORMATS = new Set(['uuid', 'date-time', 'email', 'date']);

/**
 * Tidies zod's JSON schema in place: drops `pattern` wherever `format` already says it (zod 4
 * emits both) and points `#/$defs/X` references at `#/components/schemas/X`.
 */
function tidy(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) tidy(item);
  } else if (typeof node === 'object' && node !== null) {
    const record = node as Json;
    if (typeof record['format'] === 'string' && KNOWN_FORMATS.has(record['format'])) delete record['pattern'];
    const ref = record['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/$defs/')) record['$ref'] = `#/components/schemas/${ref.slice('#/$defs/'.length)}`;
    for (const value of Object.values(record)) tidy(value);
  }
}

/** Named schemas (zod `.meta({ id })`) found while converting, for components.schemas. */
type Components = Record<string, Json>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Components): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out['$schema'];
  const defs = out['$defs'] as Components | undefined;
  delete out['$defs'];
  tidy(out);
  for (const [id, def] of Object.entries(defs ?? {})) {
    tidy(def);
    const known = components[id];
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(def)) throw new Error(`OpenAPI: two different schemas are named ${id}`);
    components[id] = def;
  }
  return out;
}

/**
 * The codes a problem response can carry, read from its description: an upper-case word at
 * its start or after a `,`, `;` or `or` ('SEATS_UNAVAILABLE: …; SHOW_NOT_BOOKABLE: …').
 */
export function codesOf(description: string): string[] {
  const codes = new Set<string>();
  for (const m of description.matchAll(/(?:^|[;,]\s*|\bor\s+)([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})(?=$|[\s:,;(])/g)) {
    if (m[1] !== undefined) codes.add(m[1]);
  }
  return [...codes];
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The schema of a problem response: a named one for a single well-known code, else Problem with its code enum. */
const NAMED_PROBLEMS: Record<string, string> = {
  VALIDATION_FAILED: 'ValidationProblem',
  SEATS_UNAVAILABLE: 'SeatsUnavailableProblem',
  ALREADY_CHECKED_IN: 'AlreadyCheckedInProblem',
  WRONG_SHOW: 'WrongShowProblem',
};

function problemResponseSchema(codes: string[]): Json {
  const named = codes.filter((c) => NAMED_PROBLEMS[c] !== undefined).map((c) => ref(NAMED_PROBLEMS[c] ?? 'Problem'));
  const rest = codes.filter((c) => NAMED_PROBLEMS[c] === undefined);
  const plain = rest.length === 0 ? [] : [{ allOf: [ref('Problem'), { type: 'object', properties: { code: { type: 'string', enum: rest } } }] }];
  const all = [...named, ...plain];
  if (all.length === 0) return ref('Problem');
  return all.length === 1 ? (all[0] as Json) : { oneOf: all };
}

const HEADERS: Record<string, Json> = {
  'X-Request-Id': { description: 'The request id (yours when you sent a valid X-Request-Id, else generated); quote it when reporting a problem.', schema: { type: 'string' } },
  Location: { description: 'URL of the created resource.', schema: { type: 'string', format: 'uri-reference' } },
  ETag: { description: 'Strong validator of the representation; send it back in If-None-Match.', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  RateLimit: { description: 'Remaining quota of the current window (IETF draft 7 RateLimit header: `limit=…, remaining=…, reset=…`).', schema: { type: 'string' } },
  'RateLimit-Policy': { description: 'The rate-limit policy (IETF draft 7: `<limit>;w=<window seconds>`).', schema: { type: 'string' } },
  'Idempotent-Replayed': { description: '`true` when this answer replays an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } },
  'Cache-Control': { description: '`no-store`: the answer carries a token or personal data.', schema: { type: 'string' } },
};

function headersOf(status: string, named: readonly string[] = []): Json {
  const names = new Set(['X-Request-Id', ...named]);
  if (status === '429') for (const n of ['Retry-After', 'RateLimit', 'RateLimit-Policy']) names.add(n);
  if (status === '503') names.add('Retry-After');
  return Object.fromEntries([...names].map((n) => {
    if (HEADERS[n] === undefined) throw new Error(`OpenAPI: undocumented response header ${n}`);
    return [n, { $ref: `#/components/headers/${n}` }];
  }));
}

/** Top-level tags, in the order a reader meets them. */
const TAGS: { name: string; description: string }[] = [
  { name: 'Auth', description: 'Sign up, sign in, token refresh and sign out; the signed-in user.' },
  { name: 'Movies', description: 'The film catalogue. Reads are public; writes need the admin role.' },
  { name: 'Theatres', description: 'Theatres and their screens (seat layouts). Reads are public; writes need the admin role.' },
  { name: 'Shows', description: 'Screenings of a movie on a screen, their live seat maps and best-seat suggestions.' },
  { name: 'Bookings', description: 'Hold seats, confirm (pay) and cancel bookings; a user reads only their own.' },
  { name: 'Payments', description: 'Signed callbacks from the payment provider.' },
  { name: 'Tickets', description: 'Tickets of confirmed bookings: their QR images, and check-in at the door (staff).' },
];

const ACCESS_SENTENCE: Record<RouteDoc['def']['access'], string> = {
  public: 'Public: no token needed.',
  optional: 'A bearer token is optional; a signed-in caller may see more.',
  user: 'Needs a bearer access token.',
  staff: 'Needs a bearer access token of staff (an usher) or an admin.',
  admin: 'Needs a bearer access token of an admin.',
};

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape;
  return {};
}

const BAD_URL = 'the path or query string is not validly percent-encoded UTF-8';

/** A problem answer: its codes (read from the description) as an enum, and its headers. */
function problemResponse(description: string, status: string, headers?: readonly string[]): Json {
  return {
    description,
    headers: headersOf(status, headers),
    content: { 'application/problem+json': { schema: problemResponseSchema(codesOf(description)) } },
  };
}

const PATH_ID_NOTE = 'A value that is not a UUID answers 404 NOT_FOUND, like an unknown id.';

export function buildOpenApi(routes: RouteDoc[], info: { title: string; version: string; description: string }): Json {
  const components: Components = {};
  const paths: Record<string, Record<string, Json>> = {};
  for (const { method, path, def } of routes) {
    const oasPath = path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: Json[] = [];
    for (const [name, s] of Object.entries(objectShape(def.params))) {
      parameters.push({ name, in: 'path', required: true, description: s.description ?? PATH_ID_NOTE, schema: jsonSchema(s, 'input', components) });
    }
    for (const [name, s] of Object.entries(objectShape(def.query))) {
      const required = !s.safeParse(undefined).success;
      const description = s.description;
      parameters.push({ name, in: 'query', required, schema: jsonSchema(s, 'input', components), ...(description ? { description } : {}) });
    }
    for (const [name, h] of Object.entries(def.headers ?? {})) {
      parameters.push({ name, in: 'header', required: h.required ?? false, description: h.description, schema: { type: 'string' } });
    }
    const responses: Record<string, Json> = {};
    const noStore = noStoreOf(def);
    for (const [status, r] of Object.entries(def.responses)) {
      if (r.schema === problemSchema) {
        responses[status] = problemResponse(r.description, status, r.headers);
        continue;
      }
      const contentType = r.contentType ?? 'application/json';
      const named = noStore && status.startsWith('2') ? [...(r.headers ?? []), 'Cache-Control'] : r.headers;
      responses[status] = {
        description: r.description,
        headers: headersOf(status, named),
        ...(r.schema
          ? { content: { [contentType]: { schema: jsonSchema(r.schema, 'output', components) } } }
          : r.contentType !== undefined
            ? { content: { [contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    const auto = (status: string, description: string) => {
      responses[status] ??= problemResponse(description, status);
    };
    if (def.params !== undefined) auto('404', 'NOT_FOUND');
    if (def.body !== undefined || def.query !== undefined) auto('422', 'VALIDATION_FAILED: the path of each bad field is in `errors`');
    if (def.body !== undefined) {
      auto(
        '400',
        `MALFORMED_JSON: not JSON, nested deeper than ${MAX_JSON_DEPTH} levels, more than ${MAX_JSON_VALUES} values, or a corrupt compressed body (Content-Encoding gzip, deflate or br); MALFORMED_URL: ${BAD_URL}`,
      );
      auto('413', 'PAYLOAD_TOO_LARGE');
      auto('415', 'UNSUPPORTED_MEDIA_TYPE: a body that is not application/json');
    }
    auto('400', `MALFORMED_URL: ${BAD_URL}`);
    if (def.access === 'user' || def.access === 'staff' || def.access === 'admin') auto('401', 'UNAUTHENTICATED');
    if (def.access === 'admin') auto('403', 'FORBIDDEN: needs the admin role');
    if (def.access === 'staff') auto('403', 'FORBIDDEN: needs the staff or admin role');
    auto('503', 'SERVICE_UNAVAILABLE, with Retry-After');

    (paths[oasPath] ??= {})[method] = {
      tags: [def.tag],
      summary: def.summary,
      description: def.description ? `${def.description}\n\n${ACCESS_SENTENCE[def.access]}` : `${def.summary}. ${ACCESS_SENTENCE[def.access]}`,
      operationId: def.operationId,
      ...(parameters.length ? { parameters } : {}),
      ...(def.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(def.body, 'input', components) } } } } : {}),
      responses,
      security: def.access === 'public' ? [] : def.access === 'optional' ? [{}, { bearerAuth: [] }] : [{ bearerAuth: [] }],
    };
  }
  const problem = jsonSchema(problemSchema, 'output', components);
  const problemProps = (problem['properties'] ?? {}) as Json;
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      contact: { name: 'Marquee maintainers' },
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: TAGS.filter((t) => routes.some((r) => r.def.tag === t.name)),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      headers: HEADERS,
      schemas: {
        ...Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
        Problem: { ...problem, description: 'RFC 9457 problem details. A problem may carry extra members, named in its response.' },
        ValidationProblem: {
          description: 'VALIDATION_FAILED: every bad field, by its path: the field’s own name in the query string or the JSON body alike (`limit`, `email`, `seatIds.0`).',
          allOf: [ref('Problem'), { type: 'object', required: ['errors'], properties: { code: { type: 'string', enum: ['VALIDATION_FAILED'] }, errors: problemProps['errors'] } }],
        },
        SeatsUnavailableProblem: {
          description: 'SEATS_UNAVAILABLE: some of the seats are held or booked by someone else.',
          allOf: [
            ref('Problem'),
            {
              type: 'object',
              required: ['unavailableSeatIds'],
              properties: { code: { type: 'string', enum: ['SEATS_UNAVAILABLE'] }, unavailableSeatIds: { type: 'array', items: { type: 'string', format: 'uuid' } } },
            },
          ],
        },
        AlreadyCheckedInProblem: {
          description: 'ALREADY_CHECKED_IN: the ticket was scanned before; checkedInAt is the first scan’s time.',
          allOf: [
            ref('Problem'),
            {
              type: 'object',
              required: ['checkedInAt'],
              properties: { code: { type: 'string', enum: ['ALREADY_CHECKED_IN'] }, checkedInAt: { type: 'string', format: 'date-time' } },
            },
          ],
        },
        WrongShowProblem: {
          description: 'WRONG_SHOW: the ticket is for another show than the one the door admits to; show is the ticket’s.',
          allOf: [ref('Problem'), { type: 'object', required: ['show'], properties: { code: { type: 'string', enum: ['WRONG_SHOW'] }, show: ref('TicketShow') } }],
        },
      },
    },
  };
}
