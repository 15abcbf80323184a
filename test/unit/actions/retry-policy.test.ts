import { describe, expect, it } from 'vitest';
import { mergeRetryPolicy, nextRetryDelay, retryPolicySchema, type RetryPolicy } from '../../../src/domain/retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, multiplier: 2, maxDelayMs: 5000, jitter: 0 };

describe('nextRetryDelay', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 5000],
    [5, null],
    [9, null],
    [0, null],
  ])('after attempt %i -> %s', (attempt, expected) => {
    expect(nextRetryDelay(policy, attempt, () => 0.5)).toBe(expected);
  });

  it('takes up to the jitter fraction off the delay', () => {
    const jittery = { ...policy, jitter: 0.5 };
    expect(nextRetryDelay(jittery, 2, () => 0)).toBe(2000);
    expect(nextRetryDelay(jittery, 2, () => 0.5)).toBe(1500);
    expect(nextRetryDelay(jittery, 2, () => 0.999999)).toBe(1000);
  });

  it('never retries a single-attempt policy', () => {
    expect(nextRetryDelay({ ...policy, maxAttempts: 1 }, 1, () => 0)).toBeNull();
  });
});

describe('retry policy data', () => {
  it('validates the schema', () => {
    expect(retryPolicySchema.safeParse(policy).success).toBe(true);
    expect(retryPolicySchema.safeParse({ ...policy, jitter: 1.5 }).success).toBe(false);
    expect(retryPolicySchema.safeParse({ ...policy, maxAttempts: 0 }).success).toBe(false);
  });

  it('merges an override', () => {
    expect(mergeRetryPolicy(policy, { maxAttempts: 2 })).toEqual({ ...policy, maxAttempts: 2 });
    expect(mergeRetryPolicy(policy, undefined)).toEqual(policy);
  });
});
