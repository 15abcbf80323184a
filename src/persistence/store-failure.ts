import type { PortFailure } from '../ports/port-failure.js';

/** SQLSTATEs after which the same statement may well succeed: the server went away or was busy. */
const TRANSIENT_SQLSTATE = /^(08|57P0[123]|53300|40001|40P01)/;
/** postgres.js and Node socket codes for a connection that failed or dropped. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The driver's error code on `err` or, when drizzle wrapped it, on its cause. */
function codeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 3; depth++) {
    if (typeof e !== 'object') return undefined;
    const code: unknown = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A store write that failed for a reason other than a compare-and-set: `retryable` when the
 * database could not be reached or asked to try again, otherwise the change itself was refused.
 */
export class StoreFailure extends Error implements PortFailure {
  readonly retryable: boolean;
  readonly code: string | undefined;

  constructor(cause: unknown) {
    const code = codeOf(cause);
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'StoreFailure';
    this.code = code;
    this.retryable = code !== undefined && (CONNECTION_CODES.has(code) || TRANSIENT_SQLSTATE.test(code));
  }
}
