import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger };

/** `auto`: readable lines when stdout is a terminal, JSON lines otherwise (a log collector, a pipe, a test). */
export type LogFormat = 'auto' | 'pretty' | 'json';

/**
 * Logs on stdout: one JSON object per line, or for a person at a terminal one readable line per
 * entry (in this process, so nothing is lost when it exits). Secrets in headers are redacted.
 * The composition root names each component (`component`); the adapters below it add other keys,
 * never a second `component`.
 */
export function createLogger(level: string, format: LogFormat = 'auto'): Logger {
  const options = {
    level,
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.token'], censor: '[redacted]' },
  };
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!pretty) return pino(options);
  return pino(options, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }));
}
