import type { JsonObject, JsonValue } from '../domain/json.js';
import type { RetryPolicy } from '../domain/retry-policy.js';
import type { RunContext } from '../domain/run-context.js';
import type { WaitArrival, WaitTarget } from '../domain/wait.js';
import type { Clock } from './clock.port.js';
import type { HttpClient } from './http-client.port.js';
import type { MessagingChannel, MessagingProvider } from './messaging-provider.port.js';

/**
 * What a step's run decided.
 * - `continue`: follow the edge on `port` (no edge there ends this path quietly).
 * - `wait`: park the step until `until`; the engine then runs it again with
 *   `resumedAfterWait: true`. With `for`, what it waits for may end the wait sooner: the
 *   engine then runs it at once, with that `arrival`. Exactly one of the two ends each wait.
 * - `complete`: end this path of the run.
 *
 * `output` is recorded as `steps.<stepId>.output` for later steps.
 */
export type ActionResult =
  | { readonly kind: 'continue'; readonly port: string; readonly output: JsonValue }
  | { readonly kind: 'wait'; readonly until: Date; readonly output: JsonValue; readonly for?: WaitTarget }
  | { readonly kind: 'complete'; readonly output: JsonValue };

/** The side effects an action may use, all behind ports. */
export interface ActionServices {
  /** The provider for a channel; throws (ideally a non-retryable `PortFailure`) when none is set up. */
  messaging(channel: MessagingChannel): MessagingProvider;
  readonly http: HttpClient;
  readonly clock: Clock;
}

/** What the engine hands to {@link RunnableAction.run} for one attempt of one step. */
export interface ActionInvocation {
  /** The step's stored config; parsed again by the definition before use. */
  readonly config: JsonObject;
  readonly context: RunContext;
  readonly stepId: string;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** True when this run follows a `wait` result of the same step. */
  readonly resumedAfterWait: boolean;
  /**
   * After a wait with a `for`: what arrived and ended it; undefined when its due time did (a
   * timeout), and on every run that does not follow a wait.
   */
  readonly arrival?: WaitArrival;
  /** Aborted when the engine gives up on the attempt (timeout, shutdown, lease lost). */
  readonly signal: AbortSignal;
  /**
   * Throws when this attempt may no longer act on the world (its lease ran out or was taken over).
   * Pass it as `beforeSend` to every port call that has an effect outside the engine; defaults to
   * a check of `signal` alone.
   */
  readonly beforeSideEffect?: () => void;
  readonly services: ActionServices;
}

/** What the engine needs of an action type: its retry policy and one attempt of its run. */
export interface RunnableAction {
  /** The effective retry policy for a step with this config. */
  retryPolicy(config: JsonObject): RetryPolicy;
  /**
   * Runs one attempt. Rejects only with `ActionError` (domain/action-error); a config that no
   * longer parses is a non-retryable `ActionError`.
   */
  run(invocation: ActionInvocation): Promise<ActionResult>;
  /**
   * True when a failed step of this type follows its `error` edge (if it has one) instead of
   * failing its instance: the action steps, whose failures come from the world outside.
   */
  readonly hasErrorPort: boolean;
}

/** The action types the engine can run, by type name (the action registry implements it). */
export interface ActionCatalog {
  get(type: string): RunnableAction | undefined;
}
