import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { badInput } from '../domain/errors.js';
import { textViolation } from '../domain/input.rules.js';

/**
 * Opaque pagination cursors. A cursor is base64url of a JSON array: the name of the list it
 * belongs to, then the sort-key values of the item it follows. A cursor is checked whole before
 * any of it reaches a statement: the list's name, then each value against the list's schema, so
 * a cursor of another list, a crafted one, or a mangled one is BAD_USER_INPUT on `after`.
 */
export interface CursorCodec<T extends readonly unknown[]> {
  encode(values: T): string;
  /** The values of a cursor this codec made; BAD_USER_INPUT (field `after`) for anything else. */
  decode(cursor: string): T;
}

/** Longer strings are not cursors of ours; refused before decoding. */
const MAX_CURSOR_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const refused = () =>
  badInput('The cursor is not valid: pass the endCursor of a previous page of this same list', 'after');

/** A keyset position's values: checked by `schema`, tagged with `list`. */
export function cursorCodec<S extends z.ZodTuple>(list: string, schema: S): CursorCodec<z.infer<S>> {
  return {
    encode: (values) => Buffer.from(JSON.stringify([list, ...values])).toString('base64url'),
    decode(cursor) {
      if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw refused();
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(cursor, 'base64url')));
      } catch {
        throw refused();
      }
      if (!Array.isArray(parsed) || parsed[0] !== list) throw refused();
      const values = schema.safeParse(parsed.slice(1));
      if (!values.success) throw refused();
      return values.data;
    },
  };
}

/** A sort key that is a counter: seq, version, ordinal. */
export const cursorInteger = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A row id. */
export const cursorUuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

/** Text as the database holds it: a step id, a port. */
export const cursorText = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => textViolation(s) === undefined);

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\d{3}Z$/;

/**
 * A `timestamptz` to the microsecond, as {@link cursorTimestampSql} writes it. Milliseconds (a JS
 * Date) would not do: rows of the same millisecond would be skipped or repeated across pages.
 * A date that does not exist (month 13, February 30) is refused here rather than by Postgres.
 */
export const cursorTimestamp = z.string().refine((s) => {
  const match = TIMESTAMP.exec(s);
  if (!match) return false;
  const date = new Date(`${match[1]}Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString() === `${match[1]}Z`;
});

/** A timestamptz column as text in the form {@link cursorTimestamp} accepts, to select beside a row. */
export const timestampText = (column: AnyColumn): SQL<string> =>
  sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
