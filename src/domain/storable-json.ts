import type { JsonValue } from './json.js';

/** What Postgres' jsonb cannot hold: NUL characters and lone UTF-16 surrogates. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const UNSTORABLE_TEST = new RegExp(UNSTORABLE.source);

const clean = (s: string): string => (UNSTORABLE_TEST.test(s) ? s.replace(UNSTORABLE, '\uFFFD') : s);

/**
 * A JSON value Postgres can store: every NUL character and lone surrogate in its strings and keys
 * replaced by U+FFFD. The same object comes back, and `replaced` is false, when nothing had to
 * change, which is the usual case; only the branches that held such a character are copied.
 */
export function toStorableJson(value: JsonValue): { value: JsonValue; replaced: boolean } {
  let replaced = false;
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') {
      const c = clean(v);
      if (c !== v) replaced = true;
      return c;
    }
    if (Array.isArray(v)) {
      let copy: JsonValue[] | undefined;
      v.forEach((item, i) => {
        const w = walk(item);
        if (w !== item) (copy ??= v.slice())[i] = w;
      });
      return copy ?? v;
    }
    if (v !== null && typeof v === 'object') {
      let copy: { [key: string]: JsonValue } | undefined;
      for (const [key, item] of Object.entries(v)) {
        const k = clean(key);
        const w = walk(item);
        if (k !== key || w !== item) {
          replaced = true;
          copy ??= { ...v };
          if (k !== key) delete copy[key];
          copy[k] = w;
        }
      }
      return copy ?? v;
    }
    return v;
  };
  const result = walk(value);
  return { value: result, replaced };
}

/** True when `value` holds nothing {@link toStorableJson} would replace. */
export const isStorableString = (s: string): boolean => !UNSTORABLE_TEST.test(s);
