import { describe, expect, it } from 'vitest';
import { describeInputViolation, findInputViolation, inputViolationField, MAX_INPUT_DEPTH, textViolation } from '../../../src/domain/input.rules.js';

const nested = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

describe('textViolation', () => {
  it.each([
    ['plain text', 'hello', undefined],
    ['a surrogate pair (an emoji)', 'a😀b', undefined],
    ['U+FFFD itself', '\ufffd', undefined],
    ['a NUL character', 'a\u0000b', 'NUL'],
    ['a lone high surrogate', 'a\ud800b', 'LONE_SURROGATE'],
    ['a lone high surrogate at the end', 'a\ud800', 'LONE_SURROGATE'],
    ['a lone low surrogate', '\udc00a', 'LONE_SURROGATE'],
    ['two high surrogates', '\ud800\ud800\udc00', 'LONE_SURROGATE'],
  ])('%s', (_what, text, expected) => {
    expect(textViolation(text)).toBe(expected);
  });
});

describe('findInputViolation', () => {
  it('accepts ordinary JSON', () => {
    expect(findInputViolation({ a: [1, 'two', { three: null, four: true }], b: '😀' })).toBeUndefined();
  });

  it('finds a NUL in a nested string, with its path', () => {
    expect(findInputViolation({ a: [1, { b: 'x\u0000' }] })).toEqual({ kind: 'NUL', path: ['a', 1, 'b'], inKey: false });
  });

  it('finds a lone surrogate in a key', () => {
    expect(findInputViolation({ a: { ['k\ud800']: 1 } })).toEqual({ kind: 'LONE_SURROGATE', path: ['a', 'k\ud800'], inKey: true });
  });

  it('reports the first violation in document order', () => {
    expect(findInputViolation(['ok', 'a\u0000', '\ud800'])?.path).toEqual([1]);
  });

  it(`accepts nesting to ${MAX_INPUT_DEPTH} levels and refuses deeper`, () => {
    expect(findInputViolation(nested(MAX_INPUT_DEPTH))).toBeUndefined();
    expect(findInputViolation(nested(MAX_INPUT_DEPTH + 1))?.kind).toBe('TOO_DEEP');
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(findInputViolation(nested(100_000))?.kind).toBe('TOO_DEEP');
  });

  it('checks a bare string', () => {
    expect(findInputViolation('\u0000')).toEqual({ kind: 'NUL', path: [], inKey: false });
  });

  it('names the field from a root, without the offending key', () => {
    expect(inputViolationField(findInputViolation({ a: [{ b: '\u0000' }] })!, 'input')).toBe('input.a.0.b');
    expect(inputViolationField(findInputViolation({ a: { ['\u0000']: 1 } })!, 'input')).toBe('input.a');
    expect(inputViolationField(findInputViolation('\u0000')!, 'name')).toBe('name');
    expect(inputViolationField(findInputViolation('\u0000')!)).toBe('');
  });

  it('describes each kind', () => {
    expect(describeInputViolation({ kind: 'NUL', path: [], inKey: true })).toBe('a key contains a NUL character');
    expect(describeInputViolation({ kind: 'TOO_DEEP', path: [], inKey: false })).toMatch(/deeper than 128/);
  });
});
