/** zod building blocks that feature schemas share and that are not HTTP-specific. */
import { z } from 'zod';

/** An ISO 8601 time with a zone; output as a Date. */
export const isoDateTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
