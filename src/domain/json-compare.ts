import type { JsonValue } from './json.js';

/**
 * Deep equality of two JSON values. Object key order does not matter; array order does.
 * Iterative, so deeply nested configs cannot overflow the stack.
 */
export const jsonEqual = (a: JsonValue, b: JsonValue): boolean => {
  const pending: [JsonValue, JsonValue][] = [[a, b]];
  while (pending.length > 0) {
    const [x, y] = pending.pop() as [JsonValue, JsonValue];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) pending.push([x[i] as JsonValue, y[i] as JsonValue]);
      continue;
    }
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(y, key)) return false;
      pending.push([x[key] as JsonValue, y[key] as JsonValue]);
    }
  }
  return true;
};
