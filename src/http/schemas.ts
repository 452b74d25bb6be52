/**
 * HTTP shapes shared by every route: path ids, lists and the problem body. Paging
 * (paginationQuery, cursors) lives in src/domain/paging.ts, isoDateTime in src/domain/schemas.ts.
 */
import { z } from 'zod';

export const uuid = z.uuid();
export const idParams = z.object({ id: z.uuid() });

const pageSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
const pages = new WeakMap<z.ZodType, z.ZodType>();

/** A page of items; for a named item schema ('Movie') the page is named too ('MoviePage'). */
export const listOf = <T extends z.ZodType>(item: T): ReturnType<typeof pageSchema<T>> => {
  const known = pages.get(item) as ReturnType<typeof pageSchema<T>> | undefined;
  if (known !== undefined) return known;
  const id = z.globalRegistry.get(item)?.id;
  const page = id === undefined ? pageSchema(item) : pageSchema(item).meta({ id: `${id}Page` });
  pages.set(item, page);
  return page;
};

/** RFC 9457 problem details: a problem may carry extra members (`unavailableSeatIds`, …). */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string().describe('Stable machine-readable code; each response lists the codes it can carry.'),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** A documented problem+json answer. */
export const problem = (description: string) => ({ description, schema: problemSchema, contentType: 'application/problem+json' });
