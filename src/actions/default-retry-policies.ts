import type { RetryPolicy } from '../domain/retry-policy.js';

/** Default for actions that call an outside service (messaging, HTTP). */
export const EXTERNAL_CALL_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};
