import { describe, expect, test } from 'vitest';
import * as ws from 'ws';
import { textFrameStart } from '../../../src/graphql/ws-transport.js';

/** ws's frame parser (exported by ws, not described by its types): a writable that emits 'message'. */
interface FrameReader {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReader };

/** What a client's `ws` makes of the bytes: the text messages it reads. */
function read(bytes: Buffer): string[] {
  const messages: string[] = [];
  const receiver = new Receiver({ isServer: false });
  receiver.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString('utf8'));
  });
  receiver.on('error', (err) => {
    throw err;
  });
  receiver.write(bytes);
  return messages;
}

describe('frames written around a shared payload', () => {
  // 7-bit, 16-bit and 64-bit payload lengths, at and across their edges.
  test.each([0, 1, 100, 125 - 40, 126 - 40, 200, 65_535 - 40, 65_536 - 40, 70_000, 1_000_000])(
    'a payload of %i bytes after the head reads back as the same message',
    (size) => {
      // A head with a character of two bytes: lengths are counted in bytes.
      const head = Buffer.from('{"id":"süb-1","type":"next","payload":');
      const payload = Buffer.alloc(size, 'x');
      const end = Buffer.from('}');
      const frame = Buffer.concat([textFrameStart(head, payload.length + end.length), payload, end]);
      const expected = Buffer.concat([head, payload, end]).toString('utf8');
      expect(read(frame)).toEqual([expected]);
      // Two frames back to back are two messages.
      expect(read(Buffer.concat([frame, frame]))).toEqual([expected, expected]);
    },
  );
});
