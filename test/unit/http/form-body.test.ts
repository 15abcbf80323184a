import { describe, expect, test } from 'vitest';
import { parseFormBody } from '../../../src/http/form-body.js';

describe('parseFormBody', () => {
  // The reference is the WHATWG parser Node ships; the two must agree byte for byte.
  test.each([
    ['plain pairs', 'a=1&b=2&a=3'],
    ['plus is a space, %2B a plus', 'q=a+b%2Bc'],
    ['percent escapes, multi-byte', 'f=%F0%9F%98%80&%E2%82%AC=euro'],
    ['raw UTF-8', 'g=é+ü'],
    ['bad escapes stay', 'a=%&b=%4&c=%zz&d=%%41'],
    ['invalid UTF-8 becomes U+FFFD', 'a=%E2&b=%E2%82&c=%FF%FE'],
    ['empty names, values and pairs', '=x&d&&e=1=2&&'],
    ['leading BOM kept', '\ufeffa=1'],
    ['empty body', ''],
  ])('%s', async (_what, body) => {
    expect(await parseFormBody(Buffer.from(body))).toEqual([...new URLSearchParams(body)]);
  });

  // The standard reads the body as UTF-8 bytes first; Node's URLSearchParams would take the raw
  // character â (U+00E2) for the byte E2 and make one € of it with the escapes after it.
  test('a raw character and escaped bytes after it are not merged into one character', async () => {
    expect(await parseFormBody(Buffer.from('a=\u00e2%82%AC'))).toEqual([['a', '\u00e2\ufffd\ufffd']]);
  });

  test('bytes that are not UTF-8 in the body itself', async () => {
    const raw = Buffer.from([0x61, 0x3d, 0xe2, 0x82, 0x26, 0x62, 0x3d, 0xff]);
    expect(await parseFormBody(raw)).toEqual([...new URLSearchParams(raw.toString('utf8'))]);
  });

  // Bodies larger than one turn's bytes are decoded across turns; escapes across a turn's edge included.
  test('a value longer than a turn of decoding, with escapes everywhere', async () => {
    const body = `a=${'%E2%82%AC+x'.repeat(30_000)}&b=${'y'.repeat(70_000)}%41&c=%4`;
    expect(await parseFormBody(Buffer.from(body))).toEqual([...new URLSearchParams(body)]);
  });
});
