/**
 * The one error family of the product. Codes are grouped by who must act:
 * the caller (bad input, missing thing, conflict) or the operator (unexpected).
 * They map to GraphQL `extensions.code` in one place (`graphql/error-mapping.ts`).
 */
export const ErrorCode = {
  /** Input that does not fit: a field, a config, a port. */
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  /** The thing does not exist, or belongs to another workspace. */
  NOT_FOUND: 'NOT_FOUND',
  /** `expectedRevision` is stale. */
  REVISION_CONFLICT: 'REVISION_CONFLICT',
  /** The graph as a whole does not pass publish validation. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The operation does not fit the current state (archived workflow, nothing to undo...). */
  INVALID_STATE: 'INVALID_STATE',
  /** A configured limit was reached. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The request carries no valid API key. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Too many failed attempts from this client: try again after `retryAfter` seconds. */
  RATE_LIMITED: 'RATE_LIMITED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Details that are safe to show to the client that made the request. */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** An error the caller can act on; its message and details reach the client as they are. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string, id: string): AppError =>
  new AppError(ErrorCode.NOT_FOUND, `${what} '${id}' was not found`, { id });

export const badInput = (message: string, field?: string, details: ErrorDetails = {}): AppError =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, field ? { field, ...details } : details);

export const invalidState = (message: string, details: ErrorDetails = {}): AppError =>
  new AppError(ErrorCode.INVALID_STATE, message, details);

export const limitExceeded = (message: string, details: ErrorDetails = {}): AppError =>
  new AppError(ErrorCode.LIMIT_EXCEEDED, message, details);

/** Refused for now: the client may try again after `retryAfter` (whole seconds, at least 1). */
export const rateLimited = (waitMs: number): AppError => {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError(ErrorCode.RATE_LIMITED, `Too many failed API key attempts from this address; retry after ${retryAfter} s`, { retryAfter });
};
