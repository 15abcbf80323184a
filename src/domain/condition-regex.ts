import { RE2JS, RE2JSException } from 're2js';

/**
 * Regular expressions of the `matches` condition operator. They run on RE2JS, a linear-time engine
 * (RE2 semantics): matching never backtracks, so its cost grows with the input's length times the
 * pattern's compiled size, never exponentially. Patterns RE2 cannot take (lookaround,
 * backreferences, possessive quantifiers, atomic groups) are refused.
 */

/** Longest `matches` pattern, in characters. */
export const REGEX_MAX_PATTERN_LENGTH = 200;
/** `matches` only looks at this many leading characters (UTF-16 code units) of the input. */
export const REGEX_MAX_INPUT_LENGTH = 4_096;
/**
 * Most instructions the `matches` patterns of one step may compile to, all together (RE2's
 * "program size": about one per literal character, class or operator, with counted repetitions
 * copied out). Matching costs up to this times {@link REGEX_MAX_INPUT_LENGTH} steps, which bounds
 * how long one condition can hold the event loop.
 */
export const REGEX_PROGRAM_BUDGET = 300;

/** Patterns whose text promises more than this are refused without compiling them. */
const ESTIMATE_LIMIT = 8 * REGEX_PROGRAM_BUDGET;
const CACHE_LIMIT = 64;

/** A `matches` pattern as checked: its compiled size, or why it is refused. */
export type PatternCheck =
  | { readonly ok: true; readonly programSize: number }
  | { readonly ok: false; readonly message: string };

type Compiled = { readonly ok: true; readonly regex: RE2JS; readonly programSize: number } | { readonly ok: false; readonly message: string };

const skipEscape = (pattern: string, i: number): number => {
  const next = pattern[i + 1];
  // `\p{Greek}`, `\x{1F600}`: the braces belong to the escape, they are not a repetition.
  if ((next === 'p' || next === 'P' || next === 'x') && pattern[i + 2] === '{') {
    const end = pattern.indexOf('}', i + 3);
    return end < 0 ? pattern.length : end + 1;
  }
  return i + 2;
};

/** The index just past the character class that opens at `i`. */
const skipClass = (pattern: string, start: number): number => {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading `]` is a literal
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') i = skipEscape(pattern, i);
    else if (c === '[' && pattern[i + 1] === ':') {
      const end = pattern.indexOf(':]', i + 2);
      i = end < 0 ? i + 1 : end + 2;
    } else if (c === ']') return i + 1;
    else i++;
  }
  return pattern.length;
};

const COUNTED_REPEAT = /^\{(\d{1,4})(?:(,)(\d{0,4}))?\}/;

/**
 * An upper bound, read from the pattern's text alone, of the instructions RE2 compiles it to.
 * Counted repetitions copy their operand (`(ab){50}` compiles to fifty copies), so a pattern of
 * {@link REGEX_MAX_PATTERN_LENGTH} characters can reach tens of thousands of instructions, which
 * take hundreds of milliseconds to compile; this lets such a pattern be refused before it is
 * compiled. It over-counts (every character and operator as a whole instruction); a pattern RE2
 * refuses may be under-counted, but RE2 refuses those while parsing, before any copying.
 */
export const estimateProgramSize = (pattern: string): number => {
  // One frame per open group: the size of its finished items, and of its last item, which a
  // following quantifier applies to.
  const frames: { done: number; last: number }[] = [{ done: 0, last: 0 }];
  let top = frames[0] ?? { done: 0, last: 0 };
  const item = (size: number): void => {
    top.done += top.last;
    top.last = size;
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\' && pattern[i + 1] === 'Q') {
      const end = pattern.indexOf('\\E', i + 2);
      const stop = end < 0 ? pattern.length : end;
      for (let k = i + 2; k < stop; k++) item(1);
      i = end < 0 ? stop : end + 2;
    } else if (c === '\\') {
      i = skipEscape(pattern, i);
      item(1);
    } else if (c === '[') {
      i = skipClass(pattern, i);
      item(1);
    } else if (c === '(') {
      top = { done: 0, last: 0 };
      frames.push(top);
      i++;
    } else if (c === ')') {
      const group = frames.length > 1 ? frames.pop() : undefined;
      top = frames[frames.length - 1] ?? top;
      item(group === undefined ? 1 : group.done + group.last + 2);
      i++;
    } else if (c === '|') {
      top.done += top.last + 1;
      top.last = 0;
      i++;
    } else if (c === '*' || c === '+' || c === '?') {
      top.last += 2;
      i++;
    } else {
      const repeat = c === '{' ? COUNTED_REPEAT.exec(pattern.slice(i, i + 12)) : null;
      if (repeat !== null) {
        const min = Number(repeat[1]);
        const max = repeat[2] === undefined ? min : repeat[3] === '' ? min + 1 : Number(repeat[3]);
        top.last = (top.last + 2) * Math.max(min, max, 1);
        i += repeat[0].length;
      } else {
        item(1);
        i++;
      }
    }
  }
  return frames.reduce((sum, f) => sum + f.done + f.last + 2, 0);
};

const unsupportedHint = (pattern: string): string => {
  if (/\(\?<?[=!]/.test(pattern)) return '; lookahead and lookbehind are not supported';
  if (/\\[1-9]|\\k</.test(pattern)) return '; backreferences are not supported';
  return '';
};

const compile = (pattern: string, ignoreCase: boolean): Compiled => {
  if (pattern.length > REGEX_MAX_PATTERN_LENGTH) {
    return { ok: false, message: `Pattern is longer than ${REGEX_MAX_PATTERN_LENGTH} characters` };
  }
  const estimate = estimateProgramSize(pattern);
  if (estimate > ESTIMATE_LIMIT) {
    return {
      ok: false,
      message: `Regular expression is too complex: its repetitions expand to more than ${REGEX_PROGRAM_BUDGET} instructions`,
    };
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    const detail = err instanceof RE2JSException ? err.message.replace(/^error parsing regexp: /, '') : 'it does not compile';
    return { ok: false, message: `Not a supported regular expression (${detail})${unsupportedHint(pattern)}` };
  }
  const programSize = regex.programSize();
  if (programSize > REGEX_PROGRAM_BUDGET) {
    return {
      ok: false,
      message: `Regular expression is too complex: it compiles to ${programSize} instructions, more than ${REGEX_PROGRAM_BUDGET}`,
    };
  }
  return { ok: true, regex, programSize };
};

// Least recently used first: a hit moves its entry to the end.
const cache = new Map<string, Compiled>();

/**
 * Compiles a pattern once per (pattern, ignoreCase) and remembers the result, refusals included.
 * The cache is bounded (each compiled pattern keeps a lazily built DFA of a few MiB at most).
 */
const compiled = (pattern: string, ignoreCase: boolean): Compiled => {
  const key = `${ignoreCase ? 'i' : '-'}:${pattern}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const result = compile(pattern, ignoreCase);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, result);
  return result;
};

/** Whether RE2 takes `pattern` within the limits above, and its compiled size if so. */
export const checkPattern = (pattern: string, ignoreCase: boolean): PatternCheck => {
  const result = compiled(pattern, ignoreCase);
  return result.ok ? { ok: true, programSize: result.programSize } : result;
};

/**
 * Whether `pattern` matches anywhere in the first {@link REGEX_MAX_INPUT_LENGTH} characters of
 * `input` (anchor with `^`/`$` to match the whole). False for a pattern {@link checkPattern} refuses.
 */
export const testPattern = (pattern: string, ignoreCase: boolean, input: string): boolean => {
  const result = compiled(pattern, ignoreCase);
  return result.ok && result.regex.test(input.slice(0, REGEX_MAX_INPUT_LENGTH));
};
