import { z } from 'zod';
import { checkPattern, REGEX_MAX_PATTERN_LENGTH, REGEX_PROGRAM_BUDGET, testPattern } from './condition-regex.js';
import { parseIsoInstant } from './iso-instant.js';
import type { JsonValue } from './json.js';
import { RUN_CONTEXT_ROOTS } from './run-context.js';

/**
 * A typed, data-only condition language. Conditions are JSON trees of groups (`all`, `any`, `not`)
 * and leaves comparing the value at a dotted path of the run context with a literal JSON value.
 * Nothing is ever evaluated as code.
 */

/** The comparison a leaf performs. */
export const OPERATORS = [
  'equals',
  'notEquals',
  'contains',
  'notContains',
  'startsWith',
  'endsWith',
  'matches',
  'gt',
  'gte',
  'lt',
  'lte',
  'exists',
  'isEmpty',
  'in',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** True when every child is true. Never empty. */
export interface AllCondition {
  readonly all: readonly Condition[];
}
/** True when at least one child is true. Never empty. */
export interface AnyCondition {
  readonly any: readonly Condition[];
}
/** True when its child is false. */
export interface NotCondition {
  readonly not: Condition;
}
/**
 * Compares the value at `path` (see {@link resolvePath}) with the literal `value`.
 * String comparisons are case-sensitive unless `ignoreCase` is true.
 * `exists` and `isEmpty` take no value; `in` takes an array.
 */
export interface LeafCondition {
  readonly path: string;
  readonly op: Operator;
  readonly value?: JsonValue;
  readonly ignoreCase?: boolean;
}
export type Condition = AllCondition | AnyCondition | NotCondition | LeafCondition;

/** Deepest allowed nesting; a lone leaf has depth 1. */
export const CONDITION_MAX_DEPTH = 10;
/** Most groups plus leaves in one condition tree. */
export const CONDITION_MAX_NODES = 200;
export { REGEX_MAX_INPUT_LENGTH, REGEX_MAX_PATTERN_LENGTH, REGEX_PROGRAM_BUDGET } from './condition-regex.js';
/** Longest `in` list. */
export const IN_MAX_VALUES = 500;
const PATH_MAX_LENGTH = 300;

/** Path segments that would reach into JavaScript prototypes; never resolved. */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const INDEX_SEGMENT = /^(0|[1-9]\d{0,8})$/;

/** An own data property's value; inherited properties and accessors read as `undefined`. */
const readOwn = (obj: object, key: string): unknown =>
  Object.hasOwn(obj, key) ? Object.getOwnPropertyDescriptor(obj, key)?.value : undefined;

/**
 * The value at a dotted `path` of `context` (`trigger.message.text`, `items.0.name`), or
 * `undefined` when any segment is missing. Reads own data properties only; `__proto__`, `constructor`
 * and `prototype` segments resolve to `undefined`. Array elements are addressed by decimal index.
 */
export const resolvePath = (context: unknown, path: string): unknown => {
  if (path === '') return undefined;
  let current: unknown = context;
  for (const segment of path.split('.')) {
    if (segment === '' || FORBIDDEN_SEGMENTS.has(segment)) return undefined;
    if (Array.isArray(current)) {
      if (!INDEX_SEGMENT.test(segment)) return undefined;
      // Own properties only: a hole must not fall through to Array.prototype.
      current = readOwn(current, segment);
    } else if (typeof current === 'object' && current !== null) {
      current = readOwn(current, segment);
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
};

// ---------------------------------------------------------------------------------------------
// Schema

const NO_VALUE_OPS: ReadonlySet<Operator> = new Set<Operator>(['exists', 'isEmpty']);
const STRING_VALUE_OPS: ReadonlySet<Operator> = new Set<Operator>(['startsWith', 'endsWith', 'matches']);
const ORDER_OPS: ReadonlySet<Operator> = new Set<Operator>(['gt', 'gte', 'lt', 'lte']);

const pathSchema = z
  .string()
  .min(1)
  .max(PATH_MAX_LENGTH)
  .superRefine((path, ctx) => {
    const segments = path.split('.');
    if (segments.some((s) => s === '' || /\s/.test(s))) {
      ctx.addIssue({ code: 'custom', message: 'Path segments must be non-empty and contain no spaces' });
      return;
    }
    if (segments.some((s) => FORBIDDEN_SEGMENTS.has(s))) {
      ctx.addIssue({ code: 'custom', message: 'Path must not use __proto__, constructor or prototype' });
      return;
    }
    const root = segments[0] ?? '';
    if (!RUN_CONTEXT_ROOTS.some((r) => r === root)) {
      ctx.addIssue({ code: 'custom', message: `Path must start with one of: ${RUN_CONTEXT_ROOTS.join(', ')}` });
    }
  });

const leafSchema = z
  .strictObject({
    path: pathSchema.meta({
      title: 'Path',
      description: `The dotted path of the value to compare in the run context, starting with ${RUN_CONTEXT_ROOTS.join(', ')} (steps.<stepId>.output...).`,
    }),
    op: z.enum(OPERATORS).meta({ title: 'Operator', description: 'How the value at the path is compared with the literal value.' }),
    value: z
      .json()
      .meta({
        title: 'Value',
        description: `The literal to compare with: none for exists and isEmpty, an array of at most ${IN_MAX_VALUES} for in, an RE2 pattern of at most ${REGEX_MAX_PATTERN_LENGTH} characters for matches, a number or ISO date for gt/gte/lt/lte.`,
      })
      .optional(),
    ignoreCase: z
      .boolean()
      .meta({ title: 'Ignore case', description: 'Compare strings case-insensitively.' })
      .optional(),
  })
  .superRefine((leaf, ctx) => {
    const { op, value } = leaf;
    if (NO_VALUE_OPS.has(op)) {
      if (value !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator ${op} takes no value` });
      return;
    }
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator ${op} needs a value` });
      return;
    }
    if (op === 'in') {
      if (!Array.isArray(value)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'Operator in needs an array' });
      else if (value.length > IN_MAX_VALUES)
        ctx.addIssue({ code: 'custom', path: ['value'], message: `At most ${IN_MAX_VALUES} values` });
      return;
    }
    if (STRING_VALUE_OPS.has(op) && typeof value !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `Operator ${op} needs a string` });
      return;
    }
    if (ORDER_OPS.has(op) && toOrdered(value) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `Operator ${op} needs a number, a numeric string or an ISO date`,
      });
      return;
    }
    if (op === 'matches' && typeof value === 'string') {
      const check = checkPattern(value, leaf.ignoreCase === true);
      if (!check.ok) ctx.addIssue({ code: 'custom', path: ['value'], message: check.message });
    }
  });

// The union is built once, outside the lazy getter: a getter that built new schemas on each call
// would give JSON Schema generation a new, never-seen-before node at every level.
const conditionNodeSchema: z.ZodType<Condition> = z.lazy(() => conditionUnionSchema);
const conditionUnionSchema = z.union([
  z.strictObject({
    all: z.array(conditionNodeSchema).min(1).meta({ title: 'All of', description: 'True when every condition in the list holds.' }),
  }),
  z.strictObject({
    any: z.array(conditionNodeSchema).min(1).meta({ title: 'Any of', description: 'True when at least one condition in the list holds.' }),
  }),
  z.strictObject({ not: conditionNodeSchema.meta({ title: 'Not', description: 'True when the condition does not hold.' }) }),
  leafSchema,
]);

/**
 * Measures depth and node count without recursion, stopping early once a limit is passed, so an
 * adversarially deep input cannot exhaust the stack before the structural schema runs.
 */
const measure = (input: unknown): { tooDeep: boolean; tooMany: boolean } => {
  const stack: { node: unknown; depth: number }[] = [{ node: input, depth: 1 }];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === undefined) break;
    const { node, depth } = item;
    if (typeof node !== 'object' || node === null || Array.isArray(node)) continue;
    nodes += 1;
    if (depth > CONDITION_MAX_DEPTH) return { tooDeep: true, tooMany: false };
    if (nodes > CONDITION_MAX_NODES) return { tooDeep: false, tooMany: true };
    for (const key of ['all', 'any'] as const) {
      const children = readOwn(node, key);
      if (Array.isArray(children)) {
        // Count oversized arrays without pushing them all.
        if (nodes + children.length > CONDITION_MAX_NODES) return { tooDeep: false, tooMany: true };
        for (const child of children) stack.push({ node: child, depth: depth + 1 });
      }
    }
    if (Object.hasOwn(node, 'not')) stack.push({ node: readOwn(node, 'not'), depth: depth + 1 });
  }
  return { tooDeep: false, tooMany: false };
};

/**
 * The instructions the `matches` patterns of a (parsed) condition compile to, together; see
 * {@link REGEX_PROGRAM_BUDGET}. Patterns that do not compile count as nothing.
 */
export const conditionRegexSize = (condition: Condition): number => {
  if ('all' in condition) return condition.all.reduce((sum, c) => sum + conditionRegexSize(c), 0);
  if ('any' in condition) return condition.any.reduce((sum, c) => sum + conditionRegexSize(c), 0);
  if ('not' in condition) return conditionRegexSize(condition.not);
  if (condition.op !== 'matches' || typeof condition.value !== 'string') return 0;
  const check = checkPattern(condition.value, condition.ignoreCase === true);
  return check.ok ? check.programSize : 0;
};

/** The issue for `matches` patterns that together exceed {@link REGEX_PROGRAM_BUDGET}. */
export const regexBudgetMessage = (size: number): string =>
  `The regular expressions of this step compile to ${size} instructions together, more than ${REGEX_PROGRAM_BUDGET}; simplify them`;

/**
 * Schema of a {@link Condition}: structure, operator/value rules, `matches` patterns that the
 * linear-time engine takes (see `condition-regex.ts`) within {@link REGEX_PROGRAM_BUDGET}
 * together, and the limits {@link CONDITION_MAX_DEPTH} and {@link CONDITION_MAX_NODES}.
 */
export const conditionSchema: z.ZodType<Condition, unknown> = z
  .preprocess((input, ctx) => {
    const { tooDeep, tooMany } = measure(input);
    if (tooDeep) ctx.addIssue({ code: 'custom', message: `Condition is nested deeper than ${CONDITION_MAX_DEPTH} levels` });
    if (tooMany) ctx.addIssue({ code: 'custom', message: `Condition has more than ${CONDITION_MAX_NODES} parts` });
    return input;
  }, conditionNodeSchema)
  .superRefine((condition, ctx) => {
    const size = conditionRegexSize(condition);
    if (size > REGEX_PROGRAM_BUDGET) ctx.addIssue({ code: 'custom', message: regexBudgetMessage(size) });
  });

// ---------------------------------------------------------------------------------------------
// Evaluation

type Ordered = { readonly kind: 'number' | 'date'; readonly value: number };

/** A number, a numeric string (coerced) or an ISO date (see {@link parseIsoInstant}), as something `gt`/`lt` can compare. */
function toOrdered(v: unknown): Ordered | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? { kind: 'number', value: v } : undefined;
  if (typeof v !== 'string') return undefined;
  const trimmed = v.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  if (Number.isFinite(n)) return { kind: 'number', value: n };
  const instant = parseIsoInstant(trimmed);
  return instant === undefined ? undefined : { kind: 'date', value: instant.getTime() };
}

const fold = (s: string, ignoreCase: boolean): string => (ignoreCase ? s.toLowerCase() : s);

/** JSON deep equality; with `ignoreCase`, strings (also nested) compare case-insensitively. */
const jsonEquals = (a: unknown, b: unknown, ignoreCase: boolean): boolean => {
  if (typeof a === 'string' && typeof b === 'string') return fold(a, ignoreCase) === fold(b, ignoreCase);
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEquals(item, b[i], ignoreCase));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keysA = Object.keys(a);
    if (keysA.length !== Object.keys(b).length) return false;
    return keysA.every((k) => Object.hasOwn(b, k) && jsonEquals(readOwn(a, k), readOwn(b, k), ignoreCase));
  }
  return false;
};

const isEmptyValue = (v: unknown): boolean => {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
};

const contains = (actual: unknown, expected: JsonValue | undefined, ignoreCase: boolean): boolean => {
  if (typeof actual === 'string') {
    return typeof expected === 'string' && fold(actual, ignoreCase).includes(fold(expected, ignoreCase));
  }
  if (Array.isArray(actual)) return actual.some((item) => jsonEquals(item, expected, ignoreCase));
  return false;
};

const compareOrdered = (actual: unknown, expected: JsonValue | undefined): number | undefined => {
  const a = toOrdered(actual);
  const b = toOrdered(expected);
  if (a === undefined || b === undefined || a.kind !== b.kind) return undefined;
  return a.value - b.value;
};

const evaluateLeaf = (leaf: LeafCondition, context: unknown): boolean => {
  const actual = resolvePath(context, leaf.path);
  const ignoreCase = leaf.ignoreCase === true;
  const expected = leaf.value;
  switch (leaf.op) {
    case 'equals':
      return jsonEquals(actual, expected, ignoreCase);
    case 'notEquals':
      return !jsonEquals(actual, expected, ignoreCase);
    case 'contains':
      return contains(actual, expected, ignoreCase);
    case 'notContains':
      return !contains(actual, expected, ignoreCase);
    case 'startsWith':
      return (
        typeof actual === 'string' &&
        typeof expected === 'string' &&
        fold(actual, ignoreCase).startsWith(fold(expected, ignoreCase))
      );
    case 'endsWith':
      return (
        typeof actual === 'string' &&
        typeof expected === 'string' &&
        fold(actual, ignoreCase).endsWith(fold(expected, ignoreCase))
      );
    case 'matches':
      return typeof actual === 'string' && typeof expected === 'string' && testPattern(expected, ignoreCase, actual);
    case 'gt': {
      const c = compareOrdered(actual, expected);
      return c !== undefined && c > 0;
    }
    case 'gte': {
      const c = compareOrdered(actual, expected);
      return c !== undefined && c >= 0;
    }
    case 'lt': {
      const c = compareOrdered(actual, expected);
      return c !== undefined && c < 0;
    }
    case 'lte': {
      const c = compareOrdered(actual, expected);
      return c !== undefined && c <= 0;
    }
    case 'exists':
      return actual !== undefined && actual !== null;
    case 'isEmpty':
      return isEmptyValue(actual);
    case 'in':
      return Array.isArray(expected) && expected.some((item) => jsonEquals(actual, item, ignoreCase));
  }
};

/**
 * Evaluates a condition (already parsed by {@link conditionSchema}) against a context object.
 * Pure and total: a missing path or a type mismatch makes a leaf false (and its negation true),
 * it never throws.
 *
 * Operator rules:
 * - `equals`/`notEquals`/`in`: JSON deep equality, no type coercion.
 * - `contains`/`notContains`: substring of a string, or an element (deep-equal) of an array.
 * - `startsWith`/`endsWith`/`matches`: strings only; `matches` is an RE2 regular expression,
 *   found anywhere unless anchored, over at most `REGEX_MAX_INPUT_LENGTH` leading characters.
 * - `gt`/`gte`/`lt`/`lte`: numbers (numeric strings coerced) or ISO dates; both sides must be
 *   the same kind.
 * - `exists`: the path holds a value other than `null`.
 * - `isEmpty`: `undefined`, `null`, `''`, `[]` or `{}`.
 */
export const evaluateCondition = (condition: Condition, context: unknown): boolean => {
  if ('all' in condition) return condition.all.every((c) => evaluateCondition(c, context));
  if ('any' in condition) return condition.any.some((c) => evaluateCondition(c, context));
  if ('not' in condition) return !evaluateCondition(condition.not, context);
  return evaluateLeaf(condition, context);
};
