/**
 * HTTP shapes shared by every route: path ids, lists and the problem body. Paging
 * (paginationQuery, cursors) lives in src/domain/paging.ts, isoDateTime in src/domain/schemas.ts.
 */
import { z } from 'zod';

export const uuid = z.uuid();
export const idParams = z.object({ id: z.uuid() });

export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** A documented problem+json answer. */
export const problem = (description: string) => ({ description, schema: problemSchema, contentType: 'application/problem+json' });
