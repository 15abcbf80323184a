import { describe, expect, test } from 'vitest';
import { AppError } from '../../../src/domain/errors.js';
import {
  MAX_TRIGGER_INPUT_PATH_CHARS,
  MAX_TRIGGER_INPUT_PATH_KEYS,
  MAX_TRIGGER_INPUT_VALUE_CHARS,
  parseTriggerInputMatch,
  triggerInputMatchDocument,
  triggerInputMatches,
} from '../../../src/domain/trigger-input-match.js';

const refusal = (raw: { path: string; equals: unknown }): { field: unknown; message: string } => {
  try {
    parseTriggerInputMatch(raw);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err.code).toBe('BAD_USER_INPUT');
    return { field: err.details.field, message: err.message };
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
};

describe('parseTriggerInputMatch', () => {
  test.each([
    ['message.id', 'SM123', ['message', 'id']],
    ['id', 7, ['id']],
    ['a.b.c', false, ['a', 'b', 'c']],
    ['first name.ключ', 'ü', ['first name', 'ключ']],
    [Array.from({ length: MAX_TRIGGER_INPUT_PATH_KEYS }, () => 'k').join('.'), 1.5, Array.from({ length: MAX_TRIGGER_INPUT_PATH_KEYS }, () => 'k')],
  ])('%j = %j', (path, equals, keys) => {
    expect(parseTriggerInputMatch({ path, equals })).toEqual({ path: keys, equals });
  });

  test('the longest path and value are accepted', () => {
    expect(parseTriggerInputMatch({ path: 'p'.repeat(MAX_TRIGGER_INPUT_PATH_CHARS), equals: 'v'.repeat(MAX_TRIGGER_INPUT_VALUE_CHARS) }).path).toHaveLength(1);
  });

  test.each<[string, { path: string; equals: unknown }, string, RegExp]>([
    ['empty path', { path: '', equals: 'x' }, 'triggerInput.path', /empty/],
    ['leading dot', { path: '.id', equals: 'x' }, 'triggerInput.path', /empty key/],
    ['two dots', { path: 'a..b', equals: 'x' }, 'triggerInput.path', /empty key/],
    ['too long', { path: 'p'.repeat(MAX_TRIGGER_INPUT_PATH_CHARS + 1), equals: 'x' }, 'triggerInput.path', /longer than/],
    ['too deep', { path: Array.from({ length: MAX_TRIGGER_INPUT_PATH_KEYS + 1 }, () => 'k').join('.'), equals: 'x' }, 'triggerInput.path', /more than/],
    ['NUL', { path: 'a\u0000', equals: 'x' }, 'triggerInput.path', /control character/],
    ['tab', { path: 'a\tb', equals: 'x' }, 'triggerInput.path', /control character/],
    ['DEL', { path: 'a\u007f', equals: 'x' }, 'triggerInput.path', /control character/],
    ['C1', { path: 'a\u0085', equals: 'x' }, 'triggerInput.path', /control character/],
    ['lone surrogate', { path: 'a\ud800', equals: 'x' }, 'triggerInput.path', /cannot be stored/],
    ['object', { path: 'a', equals: { b: 1 } }, 'triggerInput.equals', /string, a number or a boolean/],
    ['array', { path: 'a', equals: [1] }, 'triggerInput.equals', /string, a number or a boolean/],
    ['null', { path: 'a', equals: null }, 'triggerInput.equals', /string, a number or a boolean/],
    ['undefined', { path: 'a', equals: undefined }, 'triggerInput.equals', /string, a number or a boolean/],
    ['NaN', { path: 'a', equals: Number.NaN }, 'triggerInput.equals', /string, a number or a boolean/],
    ['value NUL', { path: 'a', equals: 'x\u0000' }, 'triggerInput.equals', /cannot be stored/],
    ['value too long', { path: 'a', equals: 'v'.repeat(MAX_TRIGGER_INPUT_VALUE_CHARS + 1) }, 'triggerInput.equals', /longer than/],
  ])('refuses %s, naming the field', (_what, raw, field, message) => {
    const { field: named, message: said } = refusal(raw);
    expect(named).toBe(field);
    expect(said).toMatch(message);
    expect(said).toContain(field);
  });

  test('the field prefix is the caller’s', () => {
    expect(() => parseTriggerInputMatch({ path: '', equals: 1 }, 'filter.input')).toThrow(/filter\.input\.path/);
  });
});

describe('triggerInputMatches and its containment document', () => {
  const match = { path: ['message', 'id'], equals: 'SM1' };
  test.each([
    [{ message: { id: 'SM1' } }, true],
    [{ message: { id: 'SM1', text: 'hi' }, x: 1 }, true],
    [{ message: { id: 'SM2' } }, false],
    [{ message: { id: ['SM1'] } }, false],
    [{ message: [{ id: 'SM1' }] }, false],
    [[{ message: { id: 'SM1' } }], false],
    [{ 'message.id': 'SM1' }, false],
    [{ message: { id: null } }, false],
    ['SM1', false],
    [null, false],
  ])('%j → %s', (input, expected) => {
    expect(triggerInputMatches(input, match)).toBe(expected);
  });

  test('a number matches only a number, a string only a string', () => {
    expect(triggerInputMatches({ n: 1 }, { path: ['n'], equals: 1 })).toBe(true);
    expect(triggerInputMatches({ n: '1' }, { path: ['n'], equals: 1 })).toBe(false);
    expect(triggerInputMatches({ n: true }, { path: ['n'], equals: 'true' })).toBe(false);
  });

  test('inherited keys are not keys of the input', () => {
    expect(triggerInputMatches({}, { path: ['constructor'], equals: 'x' })).toBe(false);
  });

  test('the document nests the value under the keys', () => {
    expect(triggerInputMatchDocument({ path: ['a', 'b', 'c'], equals: 3 })).toEqual({ a: { b: { c: 3 } } });
    expect(triggerInputMatchDocument({ path: ['only'], equals: true })).toEqual({ only: true });
    // A key like any other, not the prototype.
    expect(JSON.stringify(triggerInputMatchDocument({ path: ['__proto__', 'x'], equals: 1 }))).toBe('{"__proto__":{"x":1}}');
  });
});
