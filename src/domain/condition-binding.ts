import { evaluateCondition, type Condition } from './condition.js';

/** Conditions that always hold and never hold, as evaluateCondition reads empty groups (no config can hold one). */
const ALWAYS: Condition = { all: [] };
const NEVER: Condition = { any: [] };

/**
 * The condition with every leaf whose path `keep` refuses decided now, against `context`: such a
 * leaf becomes a group that always or never holds. What is left reads only the kept paths, so it
 * can be stored and evaluated later against them alone — a wait's condition is bound when the
 * step begins to wait, with the run context of that moment, and evaluated against each message.
 */
export function bindCondition(condition: Condition, context: unknown, keep: (path: string) => boolean): Condition {
  if ('all' in condition) return { all: condition.all.map((c) => bindCondition(c, context, keep)) };
  if ('any' in condition) return { any: condition.any.map((c) => bindCondition(c, context, keep)) };
  if ('not' in condition) return { not: bindCondition(condition.not, context, keep) };
  if (keep(condition.path)) return condition;
  return evaluateCondition(condition, context) ? ALWAYS : NEVER;
}
