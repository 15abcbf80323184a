import type { JsonObject } from '../domain/json.js';
import { TemplateError } from '../domain/template.js';

/** Options of an {@link ActionError}. */
export interface ActionErrorOptions {
  /** Whether the engine may try the step again (within its retry policy). */
  readonly retryable: boolean;
  /** Structured, storable facts about the failure (HTTP status, field...). */
  readonly details?: JsonObject;
  readonly cause?: unknown;
}

/**
 * The only error an action's `run()` rejects with. Whether to retry is data (`retryable`), never
 * derived from the message; the message and `details` are recorded on the step run and shown to
 * the workflow's owner.
 */
export class ActionError extends Error {
  readonly retryable: boolean;
  readonly details: JsonObject;

  constructor(message: string, options: ActionErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ActionError';
    this.retryable = options.retryable;
    this.details = options.details ?? {};
  }
}

/** A failure that may go away on its own (timeout, 5xx, rate limit). */
export const retryable = (message: string, details?: JsonObject): ActionError =>
  new ActionError(message, { retryable: true, details });

/** A failure that will repeat on every attempt (bad config, rejected recipient, 4xx). */
export const fatal = (message: string, details?: JsonObject): ActionError =>
  new ActionError(message, { retryable: false, details });

const portFailureOf = (err: unknown): { retryable: boolean; code?: string } | undefined => {
  if (typeof err !== 'object' || err === null || !('retryable' in err)) return undefined;
  if (typeof err.retryable !== 'boolean') return undefined;
  const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return { retryable: err.retryable, code };
};

/**
 * Turns anything thrown inside an action into an {@link ActionError}: template errors are fatal,
 * a port's `PortFailure.retryable` is respected, and anything else is treated as transient, since
 * most unclassified failures of I/O are.
 */
export const toActionError = (err: unknown): ActionError => {
  if (err instanceof ActionError) return err;
  if (err instanceof TemplateError) {
    return new ActionError(`Template error: ${err.message}`, {
      retryable: false,
      details: { reason: `template_${err.kind}` },
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  const failure = portFailureOf(err);
  if (failure !== undefined) {
    return new ActionError(message, {
      retryable: failure.retryable,
      details: failure.code === undefined ? {} : { code: failure.code },
      cause: err,
    });
  }
  return new ActionError(message, { retryable: true, cause: err });
};
