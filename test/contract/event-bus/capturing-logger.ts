import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** One parsed pino line. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg?: string; readonly level?: number };

/** A pino logger whose lines the test can read (and print when TEST_LOG_LEVEL asks). */
export function capturingLogger(): { readonly logger: Logger; readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text) lines.push(JSON.parse(text) as LogLine);
      }
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
