/**
 * What a port adapter may attach to the error it rejects with, so callers decide about retrying
 * from data instead of from the message. An error without a boolean `retryable` is treated as
 * transient (retryable), like a network failure.
 */
export interface PortFailure {
  /** `false` when trying again cannot help (bad recipient, request blocked by policy...). */
  readonly retryable: boolean;
  /** A short machine-readable reason, e.g. `RECIPIENT_INVALID`, `BLOCKED_ADDRESS`. */
  readonly code?: string;
}
