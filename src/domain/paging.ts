/** Keyset paging shared by every list: the limit/cursor query and opaque cursors. */
import { z } from 'zod';
import { validationFailed } from './errors.ts';

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
};

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.output<T> | undefined {
  if (cursor === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    raw = undefined;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw validationFailed([{ path: 'cursor', message: 'The cursor is not valid.' }]);
  return parsed.data;
}

/** Takes limit+1 rows and turns them into a page; key() names the sort key of a row. */
export function toPage<R, O>(rows: R[], limit: number, key: (row: R) => unknown[], map: (row: R) => O) {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return {
    items: pageRows.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
