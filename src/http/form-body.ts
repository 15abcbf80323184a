const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const SPACE = 0x20;
const PERCENT = 0x25;

const hexValue = (b: number): number =>
  b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1;

/**
 * `+` to space and `%XX` to its byte, over `raw[start, end)`; a `%` not followed by two hex digits
 * stays as it is. The bytes are then read as UTF-8, invalid sequences becoming U+FFFD.
 */
function decodeComponent(raw: Buffer, start: number, end: number): string {
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = raw[i]!;
    if (b === PLUS) {
      out[n++] = SPACE;
    } else if (b === PERCENT && i + 2 < end) {
      const high = hexValue(raw[i + 1]!);
      const low = hexValue(raw[i + 2]!);
      if (high >= 0 && low >= 0) {
        out[n++] = (high << 4) | low;
        i += 2;
      } else {
        out[n++] = b;
      }
    } else {
      out[n++] = b;
    }
  }
  return out.toString('utf8', 0, n);
}

/**
 * Parses an `application/x-www-form-urlencoded` body as the WHATWG URL standard does (the result
 * equals `new URLSearchParams(body)`'s entries), in one pass over the bytes. Node's
 * URLSearchParams and querystring build each `+`-to-space value character by character: 1 MiB of
 * `x+x+…` held the event loop over 100 ms; this takes a few.
 */
export function parseFormBody(raw: Buffer): [name: string, value: string][] {
  const entries: [string, string][] = [];
  for (let start = 0; start < raw.length; ) {
    let end = raw.indexOf(AMPERSAND, start);
    if (end === -1) end = raw.length;
    if (end > start) {
      let equals = raw.indexOf(EQUALS, start);
      if (equals === -1 || equals > end) equals = end;
      entries.push([decodeComponent(raw, start, equals), equals < end ? decodeComponent(raw, equals + 1, end) : '']);
    }
    start = end + 1;
  }
  return entries;
}
