import { describe, expect, it } from 'vitest';
import { isStorableString, toStorableJson } from '../../../src/domain/storable-json.js';

describe('toStorableJson', () => {
  it.each([
    ['plain text', 'hello', 'hello', false],
    ['a NUL', 'a\u0000b', 'a\uFFFDb', true],
    ['a lone high surrogate', 'x\uD800', 'x\uFFFD', true],
    ['a lone low surrogate', '\uDC00y', '\uFFFDy', true],
    ['a surrogate pair (an emoji)', 'ok \uD83D\uDE00', 'ok \uD83D\uDE00', false],
    ['a number', 1, 1, false],
    ['null', null, null, false],
  ])('%s', (_name, input, output, replaced) => {
    expect(toStorableJson(input)).toEqual({ value: output, replaced });
  });

  it('cleans keys and nested values, copying only what changed', () => {
    const untouched = { keep: [1, 2] };
    const value = { 'k\u0000': 'v', nested: [{ s: 'a\u0000' }], untouched };
    const result = toStorableJson(value);
    expect(result).toEqual({ value: { 'k\uFFFD': 'v', nested: [{ s: 'a\uFFFD' }], untouched: { keep: [1, 2] } }, replaced: true });
    expect((result.value as { untouched: unknown }).untouched).toBe(untouched);
    expect(value['k\u0000']).toBe('v');
  });

  it('returns the same object when nothing has to change', () => {
    const value = { a: ['b', { c: 'd' }] };
    expect(toStorableJson(value).value).toBe(value);
    expect(isStorableString('fine')).toBe(true);
    expect(isStorableString('\u0000')).toBe(false);
  });
});
