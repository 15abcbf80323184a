import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const SPACE = 0x20;
const PERCENT = 0x25;

/**
 * Bytes decoded between two turns of the event loop. A byte loop over a whole body before V8 has
 * optimised it (a first request, a loaded machine) held the event loop up to 90 ms for 1 MiB.
 */
const BYTES_PER_TURN = 64 * 1024;

const hexValue = (b: number): number =>
  b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1;

/** Where a slice of decoding stopped: the next byte to read and the bytes written so far. */
interface Progress {
  at: number;
  written: number;
}

/**
 * `+` to space and `%XX` to its byte, over `raw[progress.at, stop)` (a `%` sequence may run up to
 * `end`); a `%` not followed by two hex digits stays as it is.
 */
function decodeSlice(raw: Buffer, progress: Progress, stop: number, end: number, out: Buffer): void {
  let i = progress.at;
  let n = progress.written;
  for (; i < stop; i++) {
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
  progress.at = i;
  progress.written = n;
}

/**
 * Parses an `application/x-www-form-urlencoded` body as the WHATWG URL standard does (the result
 * equals `new URLSearchParams(body)`'s entries), in one pass over the bytes, giving the event loop
 * a turn every {@link BYTES_PER_TURN} bytes. Node's URLSearchParams and querystring build each
 * `+`-to-space value character by character: 1 MiB of `x+x+…` held the event loop over 100 ms.
 * The bytes of each name and value are read as UTF-8, invalid sequences becoming U+FFFD.
 */
export async function parseFormBody(raw: Buffer): Promise<[name: string, value: string][]> {
  let sinceTurn = 0;
  const decode = async (start: number, end: number): Promise<string> => {
    const out = Buffer.allocUnsafe(end - start);
    const progress: Progress = { at: start, written: 0 };
    while (progress.at < end) {
      const stop = Math.min(end, progress.at + BYTES_PER_TURN - sinceTurn);
      const from = progress.at;
      decodeSlice(raw, progress, stop, end, out);
      sinceTurn += progress.at - from;
      if (sinceTurn >= BYTES_PER_TURN) {
        sinceTurn = 0;
        await yieldToEventLoop();
      }
    }
    return out.toString('utf8', 0, progress.written);
  };
  const entries: [string, string][] = [];
  for (let start = 0; start < raw.length; ) {
    let end = raw.indexOf(AMPERSAND, start);
    if (end === -1) end = raw.length;
    if (end > start) {
      let equals = raw.indexOf(EQUALS, start);
      if (equals === -1 || equals > end) equals = end;
      const name = await decode(start, equals);
      entries.push([name, equals < end ? await decode(equals + 1, end) : '']);
    }
    start = end + 1;
  }
  return entries;
}
