import type { JsonValue } from './json.js';

/** UTF-8 length of a string, counted without encoding it. */
export const utf8ByteLength = (text: string): number => {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair is one 4-byte code point; a lone surrogate counts as U+FFFD, as TextEncoder would.
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
};

/** Size in bytes of a JSON value serialized compactly as UTF-8, as it is stored. */
export const jsonByteLength = (value: JsonValue): number => utf8ByteLength(JSON.stringify(value));

/** Characters JSON.stringify writes as an escape: `"`, `\` and the C0 controls. */
const ESCAPED = /["\\\u0000-\u001f]/g;
const SHORT_ESCAPES = new Set(['"', '\\', '\b', '\f', '\n', '\r', '\t']);

/** UTF-8 bytes of a string as JSON.stringify writes it, quotes and escapes included. */
function jsonStringBytes(text: string): number {
  let bytes = Buffer.byteLength(text, 'utf8') + 2;
  for (const match of text.matchAll(ESCAPED)) bytes += SHORT_ESCAPES.has(match[0]) ? 1 : 5;
  return bytes;
}

/**
 * Bytes JSON.stringify(value) would take as UTF-8, counted without building the string, or
 * undefined as soon as the count passes `max`: the work is bounded by `max` however large the
 * value. Follows JSON.stringify's rules (toJSON, undefined and functions left out of objects and
 * written as null in arrays, non-finite numbers as null). Iterative, so nesting cannot overflow
 * the stack. A lone surrogate is counted as 3 bytes, where JSON.stringify writes a 6-byte escape.
 */
export function jsonByteLengthWithin(value: unknown, max: number): number | undefined {
  let bytes = 0;
  // Each entry is a value to measure; `inArray` says how to write what JSON cannot hold.
  const stack: { value: unknown; inArray: boolean }[] = [{ value, inArray: true }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    let v = item.value;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: () => unknown }).toJSON();
    }
    switch (typeof v) {
      case 'string':
        bytes += jsonStringBytes(v);
        break;
      case 'number':
        bytes += Number.isFinite(v) ? String(v).length : 4;
        break;
      case 'boolean':
        bytes += v ? 4 : 5;
        break;
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      case 'object':
        if (v === null) {
          bytes += 4;
        } else if (Array.isArray(v)) {
          // brackets, and a comma between items
          bytes += 2 + Math.max(0, v.length - 1);
          for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], inArray: true });
        } else {
          let members = 0;
          for (const [key, member] of Object.entries(v)) {
            if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
            members++;
            bytes += jsonStringBytes(key) + 1;
            stack.push({ value: member, inArray: false });
            if (bytes > max) return undefined;
          }
          bytes += 2 + Math.max(0, members - 1);
        }
        break;
      default:
        // undefined, a function or a symbol: null in an array, left out elsewhere (see above)
        if (item.inArray) bytes += 4;
    }
    if (bytes > max) return undefined;
  }
  return bytes;
}
