/**
 * The one rule every input is held to, whatever carries it (a GraphQL argument over HTTP or
 * WebSocket, a webhook body): no string or object key may hold a NUL character or a lone UTF-16
 * surrogate, and objects and arrays nest at most {@link MAX_INPUT_DEPTH} deep. Postgres refuses
 * the first two (in text and jsonb alike) and would silently store a lone surrogate in text as
 * U+FFFD; neither is text anyone means to send. Deep nesting costs every recursive walk after it
 * (Postgres, templates, conditions). Pure: callers turn a violation into their transport's error.
 */

/** Deepest nesting of objects and arrays accepted: the value itself is depth 0. */
export const MAX_INPUT_DEPTH = 128;

/** What is wrong: a NUL character, a lone surrogate, or nesting past {@link MAX_INPUT_DEPTH}. */
export type InputViolationKind = 'NUL' | 'LONE_SURROGATE' | 'TOO_DEEP';

/** Where the first offending value is, and what is wrong with it. */
export interface InputViolation {
  readonly kind: InputViolationKind;
  /** Keys and array indices from the value's root to the offending string, object or array. */
  readonly path: readonly (string | number)[];
  /** True when the offending string is an object key (at the end of `path`). */
  readonly inKey: boolean;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with one string, if anything. */
export function textViolation(text: string): 'NUL' | 'LONE_SURROGATE' | undefined {
  if (text.includes('\u0000')) return 'NUL';
  if (LONE_SURROGATE.test(text)) return 'LONE_SURROGATE';
  return undefined;
}

/**
 * The first violation in a value of strings, numbers, booleans, null, arrays and plain objects
 * (anything else is left alone), or undefined. Walks without recursion, so no nesting can
 * overflow the stack; stops at the first violation.
 */
export function findInputViolation(root: unknown, maxDepth: number = MAX_INPUT_DEPTH): InputViolation | undefined {
  const walk = walkInputViolation(root, { maxDepth });
  for (let step = walk.next(); ; step = walk.next()) if (step.done) return step.value;
}

/**
 * {@link findInputViolation} as a walk that pauses (yields) every `pauseEvery` values, so that a
 * caller checking a large value can give the event loop its turn; it returns the violation.
 */
export function* walkInputViolation(
  root: unknown,
  options: { maxDepth?: number; pauseEvery?: number } = {},
): Generator<void, InputViolation | undefined, void> {
  const maxDepth = options.maxDepth ?? MAX_INPUT_DEPTH;
  const pauseEvery = options.pauseEvery ?? Number.POSITIVE_INFINITY;
  const stack: { value: unknown; path: readonly (string | number)[] }[] = [{ value: root, path: [] }];
  let visited = 0;
  while (stack.length > 0) {
    if (++visited % pauseEvery === 0) yield;
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      const kind = textViolation(value);
      if (kind) return { kind, path, inKey: false };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (path.length >= maxDepth) return { kind: 'TOO_DEEP', path, inKey: false };
    if (Array.isArray(value)) {
      // Pushed in reverse so that the first offending item is the one found.
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
      continue;
    }
    const entries = Object.entries(value);
    for (const [key] of entries) {
      const kind = textViolation(key);
      if (kind) return { kind, path: [...path, key], inKey: true };
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!;
      stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

/**
 * Where a violation is, as a dotted path (`input.config.headers`, `edits.0.addStep.name`) from
 * `root` (an argument's name, say), or `root` alone at the top. An offending key is not part of
 * it, so the path never echoes the bad text back.
 */
export function inputViolationField(violation: InputViolation, root?: string): string {
  const path = violation.inKey ? violation.path.slice(0, -1) : violation.path;
  return [...(root === undefined ? [] : [root]), ...path].join('.');
}

/** A sentence fragment for messages: "contains a NUL character", "is nested deeper than 128 levels". */
export function describeInputViolation(violation: InputViolation, maxDepth: number = MAX_INPUT_DEPTH): string {
  const where = violation.inKey ? 'a key contains' : 'contains';
  switch (violation.kind) {
    case 'NUL':
      return `${where} a NUL character`;
    case 'LONE_SURROGATE':
      return `${where} a lone UTF-16 surrogate (half of a character)`;
    case 'TOO_DEEP':
      return `is nested deeper than ${maxDepth} levels`;
  }
}
