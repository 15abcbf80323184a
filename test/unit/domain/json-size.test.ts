import { describe, expect, it } from 'vitest';
import { jsonByteLength, jsonByteLengthWithin, utf8ByteLength } from '../../../src/domain/json-size.js';

describe('utf8ByteLength', () => {
  it.each(['', 'abc', 'é', '€', '😀', 'a😀é€', '\ud800x', 'x\udc00'])('matches TextEncoder for %j', (text) => {
    expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
  });
});

describe('jsonByteLength', () => {
  it('measures the compact serialization', () => {
    expect(jsonByteLength({ a: 'é', b: [1, null] })).toBe('{"a":"é","b":[1,null]}'.length + 1);
  });
});

describe('jsonByteLengthWithin', () => {
  const values: [string, unknown][] = [
    ['scalars', [1, -2.5, 1e21, true, false, null, 'text']],
    ['escapes and non-ASCII', { 'k"ey': 'a"b\\c\nd\u0001é€😀\t' }],
    ['undefined and functions', { a: undefined, b: () => 1, c: [undefined, () => 1], d: 1 }],
    ['non-finite numbers', [Number.NaN, Infinity]],
    ['toJSON', { at: new Date(0), nested: { toJSON: () => ({ x: [1, 2] }) } }],
    ['empty containers', { a: {}, b: [], c: [[], {}] }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1, b: 'two' })],
    ['a bare string', 'plain'],
  ];
  it.each(values)('matches JSON.stringify for %s', (_what, value) => {
    expect(jsonByteLengthWithin(value, Number.MAX_SAFE_INTEGER)).toBe(Buffer.byteLength(JSON.stringify(value)));
  });

  it('stops once past the limit', () => {
    const big = Array.from({ length: 1000 }, () => 'x'.repeat(1000));
    const exact = Buffer.byteLength(JSON.stringify(big));
    expect(jsonByteLengthWithin(big, exact)).toBe(exact);
    expect(jsonByteLengthWithin(big, exact - 1)).toBeUndefined();
  });

  it('measures deep nesting without overflowing the stack', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(jsonByteLengthWithin(value, 1e9)).toBe(200_001);
  });
});
