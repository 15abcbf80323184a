import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../../../src/domain/json-compare.js';
import type { JsonValue } from '../../../src/domain/json.js';

describe('jsonEqual', () => {
  const cases: [string, JsonValue, JsonValue, boolean][] = [
    ['equal scalars', 'a', 'a', true],
    ['different scalars', 1, '1', false],
    ['null and an object', null, {}, false],
    ['objects with keys in another order', { a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }, true],
    ['objects with a missing key', { a: 1 }, { a: 1, b: 2 }, false],
    ['objects with the same key count, other keys', { a: 1 }, { b: 1 }, false],
    ['arrays in another order', [1, 2], [2, 1], false],
    ['an array and an object', [], {}, false],
    ['nested difference', { a: { b: { c: [true] } } }, { a: { b: { c: [false] } } }, false],
  ];
  it.each(cases)('%s', (_, a, b, equal) => {
    expect(jsonEqual(a, b)).toBe(equal);
    expect(jsonEqual(b, a)).toBe(equal);
  });

  it('compares very deep values without recursion', () => {
    const deep = (): JsonValue => {
      let value: JsonValue = 'leaf';
      for (let i = 0; i < 50_000; i++) value = [value];
      return value;
    };
    expect(jsonEqual(deep(), deep())).toBe(true);
  });
});
