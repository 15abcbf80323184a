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
