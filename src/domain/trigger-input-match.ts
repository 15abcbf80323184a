import { badInput } from './errors.js';
import { textViolation } from './input.rules.js';
import { isJsonObject, type JsonObject, type JsonValue } from './json.js';

/** Most object keys a trigger-input path may name. */
export const MAX_TRIGGER_INPUT_PATH_KEYS = 32;
/** Longest trigger-input path, in characters, dots included. */
export const MAX_TRIGGER_INPUT_PATH_CHARS = 512;
/** Longest string a trigger-input match compares with. */
export const MAX_TRIGGER_INPUT_VALUE_CHARS = 4096;

/** A JSON value that is neither an object, an array nor null. */
export type JsonScalar = string | number | boolean;

/**
 * "The trigger input holds `equals` at `path`": `path` is object keys from the input's root (an
 * array on the way does not match; its elements are not addressed), and the value there equals
 * `equals` as JSON does — a string only a string, a number only a number (1 matches 1.0), a
 * boolean only a boolean.
 */
export interface TriggerInputMatch {
  /** 1 to {@link MAX_TRIGGER_INPUT_PATH_KEYS} non-empty keys. */
  readonly path: readonly string[];
  readonly equals: JsonScalar;
}

/** C0 and C1 control characters and DEL: no key anyone means to name holds one. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Parses a match as a caller gives it: `path` dotted (`message.id`), `equals` any JSON value.
 * BAD_USER_INPUT naming `<field>.path` or `<field>.equals` for an empty, too long or too deep
 * path, an empty key, a control character, a character Postgres cannot store, or a value that is
 * not a string, number or boolean.
 */
export function parseTriggerInputMatch(raw: { path: string; equals: unknown }, field = 'triggerInput'): TriggerInputMatch {
  const pathField = `${field}.path`;
  const { path, equals } = raw;
  if (path.length === 0) throw badInput(`${pathField} is empty; give object keys separated by dots, e.g. "message.id"`, pathField);
  if (path.length > MAX_TRIGGER_INPUT_PATH_CHARS) {
    throw badInput(`${pathField} is longer than ${MAX_TRIGGER_INPUT_PATH_CHARS} characters`, pathField, { max: MAX_TRIGGER_INPUT_PATH_CHARS });
  }
  if (CONTROL.test(path)) throw badInput(`${pathField} contains a control character`, pathField);
  if (textViolation(path)) throw badInput(`${pathField} contains a character that cannot be stored`, pathField);
  const keys = path.split('.');
  if (keys.length > MAX_TRIGGER_INPUT_PATH_KEYS) {
    throw badInput(`${pathField} names more than ${MAX_TRIGGER_INPUT_PATH_KEYS} keys`, pathField, { max: MAX_TRIGGER_INPUT_PATH_KEYS });
  }
  if (keys.some((k) => k === '')) throw badInput(`${pathField} has an empty key (two dots in a row, or a dot at an end)`, pathField);

  const equalsField = `${field}.equals`;
  if (typeof equals === 'string') {
    if (equals.length > MAX_TRIGGER_INPUT_VALUE_CHARS) {
      throw badInput(`${equalsField} is longer than ${MAX_TRIGGER_INPUT_VALUE_CHARS} characters`, equalsField, {
        max: MAX_TRIGGER_INPUT_VALUE_CHARS,
      });
    }
    if (textViolation(equals)) throw badInput(`${equalsField} contains a character that cannot be stored`, equalsField);
  } else if (!(typeof equals === 'boolean' || (typeof equals === 'number' && Number.isFinite(equals)))) {
    throw badInput(`${equalsField} must be a string, a number or a boolean`, equalsField);
  }
  return { path: keys, equals };
}

/**
 * The smallest JSON object that holds the match: `{ message: { id: "SM1" } }` for `message.id`
 * equal to "SM1". An input contains it (jsonb `@>`) exactly when it holds the match: objects down
 * to the value, so an array on the way contains nothing of it.
 */
export function triggerInputMatchDocument(match: TriggerInputMatch): JsonObject {
  let doc: JsonObject = { [match.path.at(-1)!]: match.equals };
  for (let i = match.path.length - 2; i >= 0; i--) doc = { [match.path[i]!]: doc };
  return doc;
}

/** Whether `input` holds the match: what a store's selection must agree with. */
export function triggerInputMatches(input: JsonValue, match: TriggerInputMatch): boolean {
  let at: JsonValue = input;
  for (const key of match.path) {
    if (!isJsonObject(at) || !Object.hasOwn(at, key)) return false;
    at = at[key]!;
  }
  return at === match.equals;
}
