import { badInput } from '../../domain/errors.js';
import type { PageRequest } from '../../ports/page.js';

/** The page size when `first` is not given (the SDL's default of every connection's `first`). */
export const DEFAULT_PAGE_SIZE = 50;

/** The paging arguments of a connection (PageArgs, or a field's own `first`/`after`). */
export interface PageArgsInput {
  readonly first?: number | null;
  readonly after?: string | null;
}

/**
 * Checks `first` against the configured cap: a client cannot ask for everything at once. A larger
 * `first` is refused rather than cut to the cap: a client that took a short page for the last one
 * would stop early and miss items.
 */
export function pageRequest(args: PageArgsInput, maxPageSize: number): PageRequest {
  const first = args.first ?? Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(first) || first < 0 || first > maxPageSize) {
    throw badInput(`first must be between 0 and ${maxPageSize}`, 'first', { max: maxPageSize });
  }
  return args.after === undefined || args.after === null ? { first } : { first, after: args.after };
}
