import { z } from 'zod';

/**
 * How often, and how far apart, a failed step is tried again. Plain data, so it can live in a
 * step config and be stored with a run.
 *
 * Delay before attempt `n + 1` (after attempt `n` failed) is
 * `min(maxDelayMs, initialDelayMs * multiplier^(n - 1))`, then reduced by up to `jitter` of itself
 * at random so that many failing runs do not retry in lockstep.
 */
export interface RetryPolicy {
  /** Total attempts including the first; `1` means never retry. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  /** Growth factor between consecutive delays; `1` gives a constant delay. */
  readonly multiplier: number;
  /** Upper bound on any single delay, applied before jitter. */
  readonly maxDelayMs: number;
  /** Fraction (0..1) of a delay that may be randomly taken off it. */
  readonly jitter: number;
}

const MAX_ATTEMPTS = 20;
const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

/** Schema of a complete {@link RetryPolicy}. */
export const retryPolicySchema = z.strictObject({
  maxAttempts: z
    .int()
    .min(1)
    .max(MAX_ATTEMPTS)
    .meta({ title: 'Max attempts', description: 'Total attempts including the first; 1 never retries.' }),
  initialDelayMs: z
    .int()
    .min(0)
    .max(MAX_DELAY_MS)
    .meta({ title: 'Initial delay (ms)', description: 'Wait before the second attempt.' }),
  multiplier: z
    .number()
    .min(1)
    .max(10)
    .meta({ title: 'Multiplier', description: 'Growth of the wait from one attempt to the next; 1 keeps it constant.' }),
  maxDelayMs: z
    .int()
    .min(0)
    .max(MAX_DELAY_MS)
    .meta({ title: 'Max delay (ms)', description: 'Longest wait between two attempts.' }),
  jitter: z
    .number()
    .min(0)
    .max(1)
    .meta({ title: 'Jitter', description: 'Fraction (0 to 1) of each wait that may be taken off at random.' }),
});

/**
 * Schema of the optional `retry` field of an action config: any subset of the policy fields,
 * laid over the action type's default with {@link mergeRetryPolicy}.
 */
export const retryOverrideSchema = retryPolicySchema
  .partial()
  .meta({ title: 'Retry', description: "Overrides of the step type's default retry policy; unset fields keep the default." });
export type RetryOverride = z.infer<typeof retryOverrideSchema>;

/** No retries: the policy of logic steps and triggers. */
export const NO_RETRY: RetryPolicy = {
  maxAttempts: 1,
  initialDelayMs: 0,
  multiplier: 1,
  maxDelayMs: 0,
  jitter: 0,
};

/** Lays the fields a config sets over a default policy. */
export const mergeRetryPolicy = (base: RetryPolicy, override: RetryOverride | undefined): RetryPolicy => ({
  maxAttempts: override?.maxAttempts ?? base.maxAttempts,
  initialDelayMs: override?.initialDelayMs ?? base.initialDelayMs,
  multiplier: override?.multiplier ?? base.multiplier,
  maxDelayMs: override?.maxDelayMs ?? base.maxDelayMs,
  jitter: override?.jitter ?? base.jitter,
});

/**
 * The delay in ms before the next attempt, or `null` when `attempt` (1-based, the attempt that
 * just failed) was the last one allowed. `random` returns a number in [0, 1), like `Math.random`;
 * it is a parameter so the function stays pure and testable.
 */
export const nextRetryDelay = (policy: RetryPolicy, attempt: number, random: () => number): number | null => {
  if (!Number.isFinite(attempt) || attempt < 1 || attempt >= policy.maxAttempts) return null;
  const exponential = policy.initialDelayMs * policy.multiplier ** (attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.round(capped * (1 - jitter * r)));
};
