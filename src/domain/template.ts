import { Liquid, Tag, type Template, type TagToken, type TopLevelToken } from 'liquidjs';
import type { JsonValue } from './json.js';

/**
 * Safe text templating on Liquid (`Hello {{ trigger.message.from }}`). Liquid is interpreted,
 * never compiled to JavaScript, and this engine is further locked down: only own properties are
 * readable (no `constructor`/`__proto__` walks), unknown filters are parse errors, tags that read
 * other templates (`include`, `render`, `layout`) are rejected, and parse size, render time, memory
 * and output size are bounded.
 *
 * Objects and arrays print as JSON (`{{ steps.fetch.output.body }}`); missing values print as ''.
 */

/** Longest template source accepted. */
export const TEMPLATE_MAX_LENGTH = 10_000;
/** Longest output of one {@link renderTemplate}. */
export const TEMPLATE_MAX_OUTPUT = 100_000;
/** Largest total output of one {@link renderDeep} (sum over all strings). */
export const TEMPLATE_MAX_DEEP_OUTPUT = 1_000_000;
const RENDER_TIME_LIMIT_MS = 200;
const RENDER_MEMORY_LIMIT = 10_000_000;
const RENDER_TEMPLATE_LIMIT = 10_000;
const PARSE_CACHE_LIMIT = 500;

/** Why a template could not be used. */
export type TemplateErrorKind = 'syntax' | 'render' | 'limit';

/** A template failed to parse, failed to render, or exceeded a limit. */
export class TemplateError extends Error {
  constructor(
    readonly kind: TemplateErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Stands in for tags that would read other templates; fails at parse time. */
class DeniedTag extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], liquid: Liquid) {
    super(token, remainTokens, liquid);
    throw new Error(`tag '${token.name}' is not allowed`);
  }
  render(): void {
    // Unreachable: the constructor always throws.
  }
}

const printValue = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value) ?? '';
    } catch {
      return '';
    }
  }
  return String(value);
};

const engine = new Liquid({
  strictFilters: true,
  strictVariables: false,
  ownPropertyOnly: true,
  // An empty in-memory template map: no lookup can ever reach the file system.
  templates: {},
  relativeReference: false,
  dynamicPartials: false,
  jsTruthy: false,
  parseLimit: TEMPLATE_MAX_LENGTH,
  renderLimit: RENDER_TIME_LIMIT_MS,
  memoryLimit: RENDER_MEMORY_LIMIT,
  outputEscape: printValue,
});
for (const name of ['include', 'render', 'layout']) engine.registerTag(name, DeniedTag);

/** Parsed templates by source; a small LRU (a Map keeps insertion order, hits are re-inserted). */
const parseCache = new Map<string, Template[]>();

const parse = (template: string): Template[] => {
  const cached = parseCache.get(template);
  if (cached !== undefined) {
    parseCache.delete(template);
    parseCache.set(template, cached);
    return cached;
  }
  if (template.length > TEMPLATE_MAX_LENGTH) {
    throw new TemplateError('limit', `Template is longer than ${TEMPLATE_MAX_LENGTH} characters`);
  }
  let parsed: Template[];
  try {
    parsed = engine.parse(template);
  } catch (err) {
    throw new TemplateError('syntax', err instanceof Error ? err.message : String(err));
  }
  if (parseCache.size >= PARSE_CACHE_LIMIT) {
    const oldest = parseCache.keys().next();
    if (!oldest.done) parseCache.delete(oldest.value);
  }
  parseCache.set(template, parsed);
  return parsed;
};

/** Whether a string holds any Liquid markup; plain strings skip the engine entirely. */
export const isTemplate = (s: string): boolean => s.includes('{{') || s.includes('{%');

/**
 * The parse error of `template`, or `undefined` when it is valid. Used to reject bad templates
 * when a config is saved rather than when a run reaches the step.
 */
export const validateTemplateSyntax = (template: string): string | undefined => {
  if (!isTemplate(template)) return undefined;
  try {
    parse(template);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
};

/**
 * Renders one template against `context` (typically a `RunContext`).
 * @throws TemplateError on a syntax error, a render failure, or an output over
 * {@link TEMPLATE_MAX_OUTPUT} characters.
 */
export const renderTemplate = (template: string, context: object): string => {
  if (!isTemplate(template)) return template;
  const parsed = parse(template);
  let out: unknown;
  try {
    out = engine.renderSync(parsed, context, { templateLimit: RENDER_TEMPLATE_LIMIT });
  } catch (err) {
    throw new TemplateError('render', err instanceof Error ? err.message : String(err));
  }
  const text = typeof out === 'string' ? out : printValue(out);
  if (text.length > TEMPLATE_MAX_OUTPUT) {
    throw new TemplateError('limit', `Rendered text is longer than ${TEMPLATE_MAX_OUTPUT} characters`);
  }
  return text;
};

/**
 * Renders every string inside a JSON value (object keys are left as they are) and returns a new
 * value of the same shape.
 * @throws TemplateError as {@link renderTemplate}, or when the total output exceeds
 * {@link TEMPLATE_MAX_DEEP_OUTPUT} characters.
 */
export const renderDeep = (value: JsonValue, context: object): JsonValue => {
  let budget = TEMPLATE_MAX_DEEP_OUTPUT;
  const walk = (v: JsonValue): JsonValue => {
    if (typeof v === 'string') {
      const out = renderTemplate(v, context);
      budget -= out.length;
      if (budget < 0) {
        throw new TemplateError('limit', `Rendered value is longer than ${TEMPLATE_MAX_DEEP_OUTPUT} characters`);
      }
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      // fromEntries defines own properties, so a `__proto__` key stays data.
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item)]));
    }
    return v;
  };
  return walk(value);
};
