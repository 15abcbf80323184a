import { describe, expect, it } from 'vitest';
import {
  CONDITION_MAX_DEPTH,
  CONDITION_MAX_NODES,
  REGEX_MAX_INPUT_LENGTH,
  conditionSchema,
  evaluateCondition,
  resolvePath,
  type Condition,
  type LeafCondition,
} from '../../../src/domain/condition.js';
import { bindCondition } from '../../../src/domain/condition-binding.js';

const context = {
  trigger: {
    message: { text: 'Hello World', from: '+15550001' },
    amount: 42,
    amountText: '42.5',
    tags: ['vip', 'new'],
    empty: '',
    emptyList: [],
    emptyObject: {},
    nothing: null,
    createdAt: '2025-01-15T10:00:00Z',
    items: [{ name: 'first' }, { name: 'second' }],
    nested: { a: 1, b: [1, 2] },
  },
  steps: { fetch: { output: { status: 200 } } },
  instance: { id: 'inst-1' },
};

const leaf = (path: string, op: LeafCondition['op'], value?: LeafCondition['value'], ignoreCase?: boolean): Condition => {
  const parsed = conditionSchema.parse({ path, op, ...(value === undefined ? {} : { value }), ...(ignoreCase ? { ignoreCase } : {}) });
  return parsed;
};

describe('resolvePath', () => {
  it.each([
    ['trigger.message.text', 'Hello World'],
    ['trigger.items.1.name', 'second'],
    ['trigger.tags.0', 'vip'],
    ['steps.fetch.output.status', 200],
    ['trigger.nothing', null],
    ['trigger.missing.deeper', undefined],
    ['trigger.items.5.name', undefined],
    ['trigger.items.-1', undefined],
    ['trigger.items.01', undefined],
    ['trigger.tags.length', undefined],
    ['trigger..text', undefined],
    ['', undefined],
    ['trigger.message.text.length', undefined],
  ])('%s -> %j', (path, expected) => {
    expect(resolvePath(context, path)).toEqual(expected);
  });

  it.each([
    'trigger.__proto__',
    'trigger.constructor',
    'trigger.constructor.prototype',
    'trigger.message.constructor.name',
    'trigger.tags.constructor',
    '__proto__.polluted',
    'trigger.hasOwnProperty',
    'trigger.toString',
  ])('never reaches prototypes: %s', (path) => {
    expect(resolvePath(context, path)).toBeUndefined();
  });

  it('reads an own __proto__ key from parsed JSON only by refusing it', () => {
    const parsed: unknown = JSON.parse('{"__proto__": {"x": 1}}');
    expect(resolvePath(parsed, '__proto__.x')).toBeUndefined();
  });
});

describe('evaluateCondition: operators', () => {
  it.each<[string, Condition, boolean]>([
    ['equals string', leaf('trigger.message.text', 'equals', 'Hello World'), true],
    ['equals is case-sensitive', leaf('trigger.message.text', 'equals', 'hello world'), false],
    ['equals ignoreCase', leaf('trigger.message.text', 'equals', 'hello world', true), true],
    ['equals number', leaf('steps.fetch.output.status', 'equals', 200), true],
    ['equals does not coerce', leaf('steps.fetch.output.status', 'equals', '200'), false],
    ['equals deep', leaf('trigger.nested', 'equals', { b: [1, 2], a: 1 }), true],
    ['equals null', leaf('trigger.nothing', 'equals', null), true],
    ['equals missing vs null', leaf('trigger.missing', 'equals', null), false],
    ['notEquals', leaf('steps.fetch.output.status', 'notEquals', 404), true],
    ['notEquals on missing', leaf('trigger.missing', 'notEquals', 1), true],
    ['contains substring', leaf('trigger.message.text', 'contains', 'World'), true],
    ['contains case-sensitive', leaf('trigger.message.text', 'contains', 'world'), false],
    ['contains ignoreCase', leaf('trigger.message.text', 'contains', 'WORLD', true), true],
    ['contains array element', leaf('trigger.tags', 'contains', 'vip'), true],
    ['contains array ignoreCase', leaf('trigger.tags', 'contains', 'VIP', true), true],
    ['contains array missing', leaf('trigger.tags', 'contains', 'old'), false],
    ['contains on number', leaf('trigger.amount', 'contains', '4'), false],
    ['notContains', leaf('trigger.tags', 'notContains', 'old'), true],
    ['startsWith', leaf('trigger.message.text', 'startsWith', 'Hello'), true],
    ['startsWith ignoreCase', leaf('trigger.message.text', 'startsWith', 'hello', true), true],
    ['startsWith non-string', leaf('trigger.amount', 'startsWith', '4'), false],
    ['endsWith', leaf('trigger.message.text', 'endsWith', 'World'), true],
    ['endsWith miss', leaf('trigger.message.text', 'endsWith', 'Hello'), false],
    ['matches', leaf('trigger.message.from', 'matches', '^\\+1\\d+$'), true],
    ['matches ignoreCase', leaf('trigger.message.text', 'matches', '^hello', true), true],
    ['matches case-sensitive', leaf('trigger.message.text', 'matches', '^hello'), false],
    ['matches non-string', leaf('trigger.amount', 'matches', '42'), false],
    ['gt number', leaf('trigger.amount', 'gt', 41), true],
    ['gt equal', leaf('trigger.amount', 'gt', 42), false],
    ['gte equal', leaf('trigger.amount', 'gte', 42), true],
    ['lt numeric string actual', leaf('trigger.amountText', 'lt', 43), true],
    ['lte numeric string value', leaf('trigger.amount', 'lte', '42'), true],
    ['gt ISO date', leaf('trigger.createdAt', 'gt', '2025-01-01'), true],
    ['lt ISO date', leaf('trigger.createdAt', 'lt', '2025-01-15T09:00:00Z'), false],
    ['gt mixed kinds', leaf('trigger.createdAt', 'gt', 5), false],
    ['gt on text', leaf('trigger.message.text', 'gt', 1), false],
    ['gt on missing', leaf('trigger.missing', 'gt', 1), false],
    ['exists', leaf('trigger.message', 'exists'), true],
    ['exists missing', leaf('trigger.missing', 'exists'), false],
    ['exists null', leaf('trigger.nothing', 'exists'), false],
    ['isEmpty missing', leaf('trigger.missing', 'isEmpty'), true],
    ['isEmpty null', leaf('trigger.nothing', 'isEmpty'), true],
    ['isEmpty empty string', leaf('trigger.empty', 'isEmpty'), true],
    ['isEmpty []', leaf('trigger.emptyList', 'isEmpty'), true],
    ['isEmpty {}', leaf('trigger.emptyObject', 'isEmpty'), true],
    ['isEmpty text', leaf('trigger.message.text', 'isEmpty'), false],
    ['isEmpty zero', leaf('trigger.amount', 'isEmpty'), false],
    ['in', leaf('steps.fetch.output.status', 'in', [200, 201]), true],
    ['in miss', leaf('steps.fetch.output.status', 'in', [500]), false],
    ['in ignoreCase', leaf('trigger.tags.0', 'in', ['VIP', 'GOLD'], true), true],
  ])('%s', (_name, condition, expected) => {
    expect(evaluateCondition(condition, context)).toBe(expected);
  });
});

describe('evaluateCondition: groups', () => {
  const yes = { path: 'trigger.amount', op: 'equals', value: 42 };
  const no = { path: 'trigger.amount', op: 'equals', value: 0 };
  it.each<[string, unknown, boolean]>([
    ['all true', { all: [yes, yes] }, true],
    ['all with one false', { all: [yes, no] }, false],
    ['any with one true', { any: [no, yes] }, true],
    ['any all false', { any: [no, no] }, false],
    ['not', { not: no }, true],
    ['nested', { all: [yes, { any: [no, { not: no }] }] }, true],
  ])('%s', (_name, raw, expected) => {
    expect(evaluateCondition(conditionSchema.parse(raw), context)).toBe(expected);
  });
});

describe('conditionSchema', () => {
  const issues = (raw: unknown) => {
    const result = conditionSchema.safeParse(raw);
    return result.success ? [] : result.error.issues;
  };

  it.each<[string, unknown]>([
    ['unknown operator', { path: 'trigger.x', op: 'eval', value: 1 }],
    ['missing value', { path: 'trigger.x', op: 'equals' }],
    ['value on exists', { path: 'trigger.x', op: 'exists', value: 1 }],
    ['in without array', { path: 'trigger.x', op: 'in', value: 'a' }],
    ['startsWith with number', { path: 'trigger.x', op: 'startsWith', value: 1 }],
    ['gt with text', { path: 'trigger.x', op: 'gt', value: 'abc' }],
    ['gt with a date off the calendar', { path: 'trigger.x', op: 'gt', value: '2024-02-30' }],
    ['a lookahead regex', { path: 'trigger.x', op: 'matches', value: '(?=a)' }],
    ['invalid regex', { path: 'trigger.x', op: 'matches', value: '(' }],
    ['regex too long', { path: 'trigger.x', op: 'matches', value: 'a'.repeat(201) }],
    ['path outside context', { path: 'process.env', op: 'exists' }],
    ['prototype path', { path: 'trigger.__proto__.x', op: 'exists' }],
    ['constructor path', { path: 'trigger.constructor', op: 'exists' }],
    ['empty path segment', { path: 'trigger..x', op: 'exists' }],
    ['empty group', { all: [] }],
    ['extra key', { path: 'trigger.x', op: 'exists', extra: true }],
    ['mixed group and leaf', { all: [{ path: 'trigger.x', op: 'exists' }], path: 'trigger.y', op: 'exists' }],
    ['a group that is not a list', { all: 'x' }],
    ['a nested group that is not a list', { not: { any: 5 } }],
    ['string', 'trigger.x == 1'],
    ['null', null],
  ])('rejects %s', (_name, raw) => {
    expect(issues(raw).length).toBeGreaterThan(0);
  });

  it('accepts a regex at the length cap', () => {
    expect(issues({ path: 'trigger.x', op: 'matches', value: 'a'.repeat(200) })).toEqual([]);
  });

  it(`caps nesting at ${CONDITION_MAX_DEPTH} levels`, () => {
    let ok: unknown = { path: 'trigger.x', op: 'exists' };
    for (let i = 1; i < CONDITION_MAX_DEPTH; i++) ok = { not: ok };
    expect(issues(ok)).toEqual([]);
    expect(issues({ not: ok })[0]?.message).toMatch(/nested deeper/);
  });

  it('rejects very deep input without overflowing the stack', () => {
    let deep: unknown = { path: 'trigger.x', op: 'exists' };
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    expect(issues(deep)[0]?.message).toMatch(/nested deeper/);
  });

  it(`caps the tree at ${CONDITION_MAX_NODES} parts`, () => {
    const leafNode = { path: 'trigger.x', op: 'exists' };
    expect(issues({ any: Array.from({ length: CONDITION_MAX_NODES - 1 }, () => leafNode) })).toEqual([]);
    expect(issues({ any: Array.from({ length: CONDITION_MAX_NODES }, () => leafNode) })[0]?.message).toMatch(
      /more than/,
    );
  });
});

describe('regex safety', () => {
  it(`only looks at the first ${REGEX_MAX_INPUT_LENGTH} characters`, () => {
    const long = 'a'.repeat(REGEX_MAX_INPUT_LENGTH) + 'NEEDLE';
    const ctx = { trigger: { text: long } };
    expect(evaluateCondition(leaf('trigger.text', 'matches', 'NEEDLE'), ctx)).toBe(false);
    expect(evaluateCondition(leaf('trigger.text', 'matches', '^a+$'), ctx)).toBe(true);
  });

  it('returns false for a pattern that never passed the schema instead of throwing', () => {
    const unchecked: Condition = { path: 'trigger.text', op: 'matches', value: '(' };
    expect(evaluateCondition(unchecked, { trigger: { text: '(' } })).toBe(false);
  });

  it('is not stateful across evaluations (no global flag)', () => {
    const c = leaf('trigger.text', 'matches', 'a');
    const ctx = { trigger: { text: 'a' } };
    expect([1, 2, 3].map(() => evaluateCondition(c, ctx))).toEqual([true, true, true]);
  });
});

describe('no code evaluation', () => {
  it('treats values that look like code as plain data', () => {
    const code = "'); globalThis.hacked = true; ('";
    expect(evaluateCondition(leaf('trigger.text', 'equals', code), { trigger: { text: 'x' } })).toBe(false);
    expect(evaluateCondition(leaf('trigger.text', 'equals', code), { trigger: { text: code } })).toBe(true);
    expect(Object.hasOwn(globalThis, 'hacked')).toBe(false);
  });

  it('does not pollute Object.prototype through paths or values', () => {
    const c = conditionSchema.safeParse({ path: 'trigger.__proto__.polluted', op: 'equals', value: true });
    expect(c.success).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('bindCondition', () => {
  const context = { trigger: { vip: true, order: 'A-1' }, steps: {}, instance: {} };
  const keep = (path: string) => path.startsWith('steps.reply.output');
  const message = (text: string) => ({ steps: { reply: { output: { text } } } });

  it('decides the leaves of the run context now and keeps those of the message for later', () => {
    const when: Condition = {
      all: [
        { path: 'trigger.vip', op: 'equals', value: true },
        { any: [{ path: 'steps.reply.output.text', op: 'contains', value: 'yes', ignoreCase: true }, { not: { path: 'trigger.order', op: 'startsWith', value: 'A' } }] },
      ],
    };
    const bound = bindCondition(when, context, keep);
    expect(bound).toEqual({
      all: [{ all: [] }, { any: [{ path: 'steps.reply.output.text', op: 'contains', value: 'yes', ignoreCase: true }, { not: { all: [] } }] }],
    });
    expect(evaluateCondition(bound, message('Yes please'))).toBe(true);
    expect(evaluateCondition(bound, message('no'))).toBe(false);
  });

  it('a leaf decided false makes the whole false whatever the message', () => {
    const bound = bindCondition({ all: [{ path: 'trigger.vip', op: 'equals', value: false }, { path: 'steps.reply.output.text', op: 'exists' }] }, context, keep);
    expect(evaluateCondition(bound, message('anything'))).toBe(false);
  });
});
