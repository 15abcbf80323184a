import type { Condition } from '../domain/condition.js';
import type { JsonValue } from '../domain/json.js';
import type { InstanceEventRecord, RunChange } from './run-records.js';

/** A step waiting for an event, as the store finds it. */
export interface WaitingStep {
  readonly stepRunId: string;
  readonly stepId: string;
  readonly instanceId: string;
  readonly attempt: number;
  /** The fence it waits at: its wake is fenced on it. */
  readonly fence: number;
}

/** An event as `sendEvent` gives it, already checked. */
export interface SentEvent {
  readonly workspaceId: string;
  readonly name: string;
  readonly key: string;
  readonly payload: JsonValue;
}

/** A step a delivery woke: its wake committed (events written), and it is due now. */
export interface WokenStep {
  readonly stepRunId: string;
  readonly instanceId: string;
  readonly events: readonly InstanceEventRecord[];
}

/** What a message wait asks of a message besides its channel and sender (see WaitTarget). */
export interface MessageWaitMatch {
  readonly stepId: string;
  readonly when?: Condition;
  readonly alsoStartsWorkflows: boolean;
}

/** A step a message woke, with what the dispatcher needs to decide what else the message does. */
export interface MessageWokenStep extends WokenStep {
  readonly workspaceId: string;
  readonly alsoStartsWorkflows: boolean;
}

/** What became of a sent event. */
export type EventDelivery =
  /** It woke every step that waited for it (at least one). */
  | { readonly outcome: 'woken'; readonly woken: readonly WokenStep[] }
  /** No step waited for it: it is kept for the first wait that reaches it before it expires. */
  | { readonly outcome: 'kept'; readonly eventId: string; readonly expiresAt: Date }
  /** No step waited for it, and keeping it would pass a limit: nothing was written. */
  | { readonly outcome: 'full'; readonly limit: 'key' | 'workspace'; readonly max: number };

/** What {@link WaitStore.takeKeptEvent} did. */
export type KeptEventTake =
  | { readonly outcome: 'woken'; readonly woken: WokenStep }
  | { readonly outcome: 'waiting' }
  | { readonly outcome: 'notWaiting' };

/** How long, and how many, events nobody waits for yet are kept. */
export interface KeepPolicy {
  readonly expiresAt: Date;
  /** Most kept events of one workspace, name and key. */
  readonly maxPerKey: number;
  /** Most kept events of one workspace. */
  readonly maxPerWorkspace: number;
}

/**
 * Waits and the events that end them, in Postgres. Matching is always within one workspace, and
 * the two ways an event meets its wait are serialised per (workspace, name, key): an event sent
 * while a step begins to wait either wakes it or is kept and then taken by it, never neither.
 * The wakes themselves are RunChanges the engine builds (see planWake) and the store commits
 * with their compare-and-set: one that misses (the timeout's start or a cancel came first) wakes
 * nothing.
 */
export interface WaitStore {
  /**
   * Wakes every step of the event's workspace that waits for its name and key; when none does
   * (or every wake missed), keeps the event under `keep`, or refuses it when a limit is reached.
   * One transaction: nothing is half-written.
   */
  deliverEvent(input: {
    readonly event: SentEvent;
    readonly now: Date;
    readonly keep: KeepPolicy;
    readonly wake: (step: WaitingStep) => RunChange;
  }): Promise<EventDelivery>;
  /**
   * For a step that has just begun to wait (for an event: otherwise only whether it still waits):
   * takes the oldest kept, unexpired event of
   * its workspace, name and key and wakes the step with it (the event is gone once taken).
   * `waiting` when no such event is kept; `notWaiting` when the step no longer waits at the fence
   * it began to wait at (woken by an event meanwhile, started or cancelled) or the wake missed.
   */
  takeKeptEvent(input: {
    readonly stepRunId: string;
    readonly now: Date;
    readonly wake: (step: WaitingStep, kept: { readonly payload: JsonValue; readonly sentAt: Date }) => RunChange;
  }): Promise<KeptEventTake>;
  /**
   * Of these senders on this channel, those some step (of any workspace: inbound messages are routed
   * deployment-wide) waits for a message from. Lets messages nobody waits for skip the rest.
   */
  contactsWaiting(channel: string, contacts: readonly string[]): Promise<ReadonlySet<string>>;
  /**
   * Wakes every step, of any workspace, waiting for a message on `channel` from `contact` whose
   * match `accepts` it. Messages are not kept: one nobody waits for wakes nothing later.
   */
  deliverMessage(input: {
    readonly channel: string;
    readonly contact: string;
    readonly now: Date;
    readonly accepts: (match: MessageWaitMatch) => boolean;
    readonly wake: (step: WaitingStep) => RunChange;
  }): Promise<readonly MessageWokenStep[]>;
  /** Deletes up to `limit` kept events that expired before `now`; returns how many. */
  purgeExpired(input: { readonly now: Date; readonly limit: number }): Promise<number>;
}
