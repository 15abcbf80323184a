import { describe, expect, it } from 'vitest';
import { jsonByteLength, utf8ByteLength } from '../../../src/domain/json-size.js';

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
