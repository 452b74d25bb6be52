/**
 * The body parser's `verify` hook: keeps the exact bytes of JSON bodies (webhook signatures
 * are computed over them) and refuses a body nested deeper than MAX_JSON_DEPTH or holding
 * more than MAX_JSON_VALUES values before JSON.parse, the NUL check or zod ever see it, so
 * no body within BODY_LIMIT costs more than a few milliseconds of CPU.
 */
import type { IncomingMessage } from 'node:http';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      rawBody?: Buffer;
    }
  }
}

/**
 * Deepest nesting of arrays and objects a JSON body may have. The deepest body the API
 * takes is 3 levels (a screen's rows); 32 leaves room for any extension.
 */
export const MAX_JSON_DEPTH = 32;
/**
 * Most values a JSON body may hold, counted as its arrays and objects plus the commas that
 * separate their elements and members. The largest body the API takes has about 250 (a
 * screen of 60 rows); 100 KB could hold 50,000, and parsing, walking and validating each
 * costs (10,000 object keys: 8 ms).
 */
export const MAX_JSON_VALUES = 2_000;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Why the JSON text is too complex to parse (nested deeper than `maxDepth`, or more than
 * `maxValues` values), or undefined. One pass over the bytes, no
 * allocation: brackets inside strings are skipped (an escaped quote does not end one).
 * Works on UTF-8, where no byte of a multi-byte character is ASCII. Invalid JSON is left
 * for JSON.parse to refuse; only the shape it would build matters here.
 */
export function tooComplex(bytes: Uint8Array, maxDepth: number, maxValues: number): string | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > maxDepth) return `The JSON body is nested deeper than ${maxDepth} levels.`;
      if (++values > maxValues) return `The JSON body holds more than ${maxValues} values.`;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      depth--;
    } else if (b === COMMA) {
      if (++values > maxValues) return `The JSON body holds more than ${maxValues} values.`;
    }
  }
  return undefined;
}

/** A body-parser style error: `type` names it for the one error handler (problem.ts). */
function parserError(type: 'entity.too.complex' | 'charset.unsupported', message: string): Error {
  return Object.assign(new Error(message), { type });
}

/** The UTF-8 bytes of the body, whatever charset it was sent in (body-parser allows `utf-*`). */
function utf8(buf: Buffer, charset: string | undefined): Uint8Array {
  if (charset === undefined || /^utf-?8$/i.test(charset)) return buf;
  let text: string;
  try {
    text = new TextDecoder(charset).decode(buf);
  } catch {
    // utf-7 or utf-32: nothing sends JSON that way (RFC 8259 requires UTF-8).
    throw parserError('charset.unsupported', `unsupported charset "${charset}"`);
  }
  return Buffer.from(text, 'utf8');
}

export function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer, encoding?: string): void {
  const refused = tooComplex(utf8(buf, encoding), MAX_JSON_DEPTH, MAX_JSON_VALUES);
  if (refused !== undefined) throw parserError('entity.too.complex', refused);
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
}
