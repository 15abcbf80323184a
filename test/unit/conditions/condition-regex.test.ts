import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { conditionAction } from '../../../src/actions/condition.action.js';
import { switchAction } from '../../../src/actions/switch.action.js';
import {
  REGEX_MAX_INPUT_LENGTH,
  REGEX_MAX_PATTERN_LENGTH,
  REGEX_PROGRAM_BUDGET,
  checkPattern,
  estimateProgramSize,
  testPattern,
} from '../../../src/domain/condition-regex.js';
import { conditionSchema, evaluateCondition } from '../../../src/domain/condition.js';

/** Evaluates `matches` through the condition schema and evaluator, as a step would. */
const matches = (pattern: string, input: string, ignoreCase = false): boolean => {
  const when = conditionSchema.parse({ path: 'trigger.text', op: 'matches', value: pattern, ...(ignoreCase ? { ignoreCase } : {}) });
  return evaluateCondition(when, { trigger: { text: input } });
};

describe('matches: RE2 semantics', () => {
  it.each<[string, string, string, boolean]>([
    // anchors: unanchored patterns are found anywhere; $ is the end of the text only
    ['found anywhere', 'b', 'abc', true],
    ['^ anchors the start', '^abc', 'abcdef', true],
    ['^ refuses a later start', '^abc', 'xabc', false],
    ['$ anchors the end', 'abc$', 'xabc', true],
    ['$ does not match before a final newline', 'abc$', 'abc\n', false],
    ['(?m) makes ^ and $ match at lines', '(?m)^b$', 'a\nb\nc', true],
    ['\\A and \\z', '\\Aabc\\z', 'abc', true],
    ['\\b word boundary', '\\bcat\\b', 'a cat!', true],
    ['\\b inside a word', '\\bcat\\b', 'concatenate', false],
    // classes: \d \w \s \b are ASCII
    ['\\d digits', '^\\d+$', '0123456789', true],
    ['\\d is ASCII only', '^\\d+$', '١٢٣', false],
    ['\\w word characters', '^\\w+$', 'snake_case9', true],
    ['\\w is ASCII only', '^\\w+$', 'café', false],
    ['\\s space', '^a\\sb$', 'a\tb', true],
    ['\\s is ASCII only', '^a\\sb$', 'a\u00a0b', false],
    ['bracket class', '^[a-f0-9]{8}$', 'deadbeef', true],
    ['negated class', '^[^0-9]+$', 'abc1', false],
    ['POSIX class', '^[[:alpha:]]+$', 'abc', true],
    ['. excludes a newline', '^a.b$', 'a\nb', false],
    ['(?s) lets . match a newline', '(?s)^a.b$', 'a\nb', true],
    // unicode
    ['\\p{L} letters', '^\\p{L}+$', 'café', true],
    ['\\pN numbers', '^\\pN+$', '١٢٣', true],
    ['\\p{Greek} script', '^\\p{Greek}+$', 'αβγ', true],
    ['\\p{Lu} upper case', '^\\p{Lu}', 'Émile', true],
    ['. is one code point', '^.$', '😀', true],
    ['an astral character is not two', '^..$', '😀', false],
    ['\\x{...} escape', '^\\x{1F600}$', '😀', true],
    // repetition, groups, alternation, quoting
    ['counted repetition', '^a{2,3}$', 'aaa', true],
    ['counted repetition, too many', '^a{2,3}$', 'aaaa', false],
    ['repeated group', '^(ab)+$', 'ababab', true],
    ['alternation', '^(?:stop|quit)$', 'quit', true],
    ['named group (?P<n>)', '^(?P<id>\\d+)$', '42', true],
    ['named group (?<n>)', '^(?<id>\\d+)$', '42', true],
    ['\\Q...\\E quotes', '\\Q1+1=2\\E', 'is 1+1=2?', true],
    ['escaped metacharacters', '^\\$\\d+\\.\\d{2}$', '$19.99', true],
  ])('%s: %s on %j is %s', (_name, pattern, input, expected) => {
    expect(matches(pattern, input)).toBe(expected);
  });

  it.each<[string, string, string, boolean]>([
    ['ignoreCase folds ASCII', '^hello', 'HELLO world', true],
    ['ignoreCase folds classes', '^[a-z]+$', 'ABC', true],
    ['ignoreCase folds accented letters', '^émile$', 'ÉMILE', true],
    ['ignoreCase folds Greek sigma', '^σ$', 'Σ', true],
    ['ignoreCase uses simple folding (K and the Kelvin sign)', '^k$', '\u212a', true],
    ['ignoreCase does not expand ß to SS', '^straße$', 'STRASSE', false],
  ])('%s: %s on %j is %s', (_name, pattern, input, expected) => {
    expect(matches(pattern, input, true)).toBe(expected);
  });

  it('is case-sensitive without ignoreCase, and (?i) turns folding on inside the pattern', () => {
    expect(matches('^hello', 'HELLO')).toBe(false);
    expect(matches('(?i)^hello', 'HeLLo')).toBe(true);
    expect(matches('^(?i:h)ello', 'Hello')).toBe(true);
  });

  it('does not backtrack: the catastrophic pattern answers on long inputs', () => {
    const pattern = '^(\\w+\\s?)+$';
    expect(matches(pattern, `${'a'.repeat(30)}!`)).toBe(false);
    expect(matches(pattern, `${'a'.repeat(REGEX_MAX_INPUT_LENGTH - 1)}!`)).toBe(false);
    expect(matches(pattern, 'hello world foo')).toBe(true);
  });

  it(`reads only the first ${REGEX_MAX_INPUT_LENGTH} characters`, () => {
    const long = `${'a'.repeat(REGEX_MAX_INPUT_LENGTH)}NEEDLE`;
    expect(matches('NEEDLE', long)).toBe(false);
    expect(matches('^a+$', long)).toBe(true);
  });
});

describe('patterns the engine cannot take are refused with a reason', () => {
  const messageOf = (pattern: string): string | undefined => {
    const result = conditionSchema.safeParse({ path: 'trigger.text', op: 'matches', value: pattern });
    if (result.success) return undefined;
    expect(result.error.issues[0]?.path).toEqual(['value']);
    return result.error.issues[0]?.message;
  };

  it.each<[string, string, RegExp]>([
    ['a backreference', '^(a+)\\1$', /backreferences are not supported/],
    ['a named backreference', '(?<x>a)\\k<x>', /backreferences are not supported/],
    ['a lookahead', '^(?=.*\\d)', /lookahead and lookbehind are not supported/],
    ['a negative lookahead', '^(?!x)', /lookahead and lookbehind are not supported/],
    ['a lookbehind', '(?<=\\$)\\d+', /lookahead and lookbehind are not supported/],
    ['a negative lookbehind', '(?<!a)b', /lookahead and lookbehind are not supported/],
    ['a possessive quantifier', 'a++', /Not a supported regular expression \(invalid nested repetition operator/],
    ['an atomic group', '(?>a)', /Not a supported regular expression \(invalid or unsupported Perl syntax/],
    ['a \\u escape (RE2 spells it \\x{...})', '\\u00e9', /invalid escape sequence/],
    ['an unclosed group', '(', /missing closing \)/],
    ['an unclosed class', '[a-z', /missing closing \]/],
    ['a repeat count over 1000', 'a{1001}', /too complex/],
    ['a pattern longer than the cap', 'a'.repeat(REGEX_MAX_PATTERN_LENGTH + 1), /longer than/],
    ['a pattern that compiles past the budget', `^.{${REGEX_PROGRAM_BUDGET + 10}}$`, /compiles to \d+ instructions, more than/],
    ['nested repetitions that would expand hugely', '((a.){30}){30}|((b.){30}){30}', /repetitions expand/],
  ])('%s: %s', (_name, pattern, message) => {
    expect(messageOf(pattern)).toMatch(message);
  });

  it('accepts a pattern at the length cap', () => {
    expect(messageOf('a'.repeat(REGEX_MAX_PATTERN_LENGTH))).toBeUndefined();
  });

  it('refuses the patterns of one condition that together pass the budget, at the condition', () => {
    const half = `^.{${Math.ceil(REGEX_PROGRAM_BUDGET / 2)}}$`;
    expect(checkPattern(half, false).ok).toBe(true);
    const when = { any: [{ path: 'trigger.a', op: 'matches', value: half }, { path: 'trigger.b', op: 'matches', value: half }] };
    expect(conditionAction.checkConfig({ when })).toEqual({
      ok: false,
      issues: [{ path: 'when', message: expect.stringMatching(/together, more than/) }],
    });
  });

  it('refuses the patterns of all cases of a switch that together pass the budget, at cases', () => {
    const half = `^.{${Math.ceil(REGEX_PROGRAM_BUDGET / 2)}}$`;
    const cases = ['a', 'b'].map((port) => ({ port, when: { path: 'trigger.text', op: 'matches', value: half } }));
    expect(switchAction.checkConfig({ cases })).toEqual({
      ok: false,
      issues: [{ path: 'cases', message: expect.stringMatching(/together, more than/) }],
    });
    expect(switchAction.checkConfig({ cases: cases.slice(0, 1) }).ok).toBe(true);
  });

  it('evaluates a refused pattern that never passed the schema as false instead of throwing', () => {
    expect(testPattern('(?=a)', false, 'a')).toBe(false);
    expect(testPattern('(', false, '(')).toBe(false);
  });
});

describe('estimateProgramSize', () => {
  // The estimate guards compile cost, so it must not fall below what RE2 compiles a pattern to.
  it.each([
    '^(\\w+\\s?)+$',
    '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$',
    '^\\+?[1-9]\\d{1,14}$',
    '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
    '\\b(stop|unsubscribe|cancel|end|quit)\\b',
    '^.{1,160}$',
    '((ab){3}c){4}',
    '(?i)^order #?\\d{3,10}$',
    '[\\]{}]{5}x{2,}',
    '[[:alpha:]]{10}\\p{Greek}{3}\\x{1F600}{2}',
    '\\Q{5}\\E{3}',
    '(?:a|bc|def){7}',
    'a*?b+?c??',
    '(a{0,50}|b{25,}){2}',
  ])('%s', (pattern) => {
    expect(estimateProgramSize(pattern)).toBeGreaterThanOrEqual(RE2JS.compile(pattern).programSize());
  });
});
