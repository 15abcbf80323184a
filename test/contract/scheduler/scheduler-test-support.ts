import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';

/** Silent unless TEST_LOG_LEVEL asks otherwise. */
export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** A name no other test file or run uses, so files running in parallel on one database do not meet. */
export function uniqueStoreName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
