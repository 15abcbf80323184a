/**
 * Who gave an idempotency key. Keys are unique per workflow *and source*, so no source can claim,
 * or find, another's instance whatever string it picks: `graphql` (startWorkflow), `webhook`
 * (a webhook call's Idempotency-Key), one per inbound provider (its message id),
 * `failure-handler` (a failure handler's run: the failed instance's id and failure) and
 * `schedule` (a schedule trigger's tick: the tick's ISO time).
 */
export const IDEMPOTENCY_SOURCES = ['graphql', 'webhook', 'meta', 'twilio', 'failure-handler', 'schedule'] as const;
export type IdempotencySource = (typeof IDEMPOTENCY_SOURCES)[number];

/** An idempotency key as its source gave it. */
export interface IdempotencyClaim {
  readonly source: IdempotencySource;
  /** 1 to {@link MAX_IDEMPOTENCY_KEY_CHARS} characters, compared exactly. */
  readonly key: string;
}

export const MAX_IDEMPOTENCY_KEY_CHARS = 200;
