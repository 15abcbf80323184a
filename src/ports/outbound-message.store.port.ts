import type { MessagingChannel } from './messaging-provider.port.js';
import type { Page, PageRequest } from './page.js';

/** What an outbound record stands for: a text message or a reaction to a received message. */
export const OUTBOUND_MESSAGE_KINDS = ['message', 'like'] as const;
export type OutboundMessageKind = (typeof OUTBOUND_MESSAGE_KINDS)[number];

/**
 * Who carried (or, for the sandbox, pretended to carry) the message: the name of a messaging
 * vendor (`sandbox`, `twilio`, `meta`, or one a deployment registers).
 */
export type OutboundProvider = string;

/**
 * Where a delivery stands.
 * - `sending`: an attempt claimed the idempotency key and is calling the vendor (or died doing so).
 * - `sent`: the vendor accepted it (the sandbox records its messages directly as `sent`).
 * - `uncertain`: the vendor may or may not have accepted it (timeout, connection lost mid-request);
 *   it is never sent again automatically.
 *
 * A send the vendor certainly refused leaves no record: its claim is released so a later attempt
 * can try again.
 */
export const OUTBOUND_MESSAGE_STATUSES = ['sending', 'sent', 'uncertain'] as const;
export type OutboundMessageStatus = (typeof OUTBOUND_MESSAGE_STATUSES)[number];

/** One outbound message or like as recorded. */
export interface OutboundMessageRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly channel: MessagingChannel;
  readonly kind: OutboundMessageKind;
  /** The channel-specific recipient; null for a like whose recipient was not given. */
  readonly recipient: string | null;
  /** The message text; null for a like. */
  readonly text: string | null;
  /** For a like: the provider's id of the message reacted to. */
  readonly targetMessageId: string | null;
  readonly provider: OutboundProvider;
  /** The vendor's id once `sent` (the sandbox's is `sandbox-<id>`); null before, and for likes of vendors that return none. */
  readonly providerMessageId: string | null;
  readonly status: OutboundMessageStatus;
  /** Why the status is `uncertain`. */
  readonly error: string | null;
  /** Unique: at most one record, hence at most one delivery, per key. */
  readonly idempotencyKey: string;
  readonly createdAt: Date;
  /** When the status last changed; for `sending`, when the key was claimed. */
  readonly updatedAt: Date;
}

/** A record to insert. `id` is chosen by the caller so a provider can derive ids from it. */
export interface NewOutboundMessage {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly channel: MessagingChannel;
  readonly kind: OutboundMessageKind;
  readonly recipient: string | null;
  readonly text: string | null;
  readonly targetMessageId: string | null;
  readonly provider: OutboundProvider;
  readonly providerMessageId: string | null;
  readonly status: 'sending' | 'sent';
  readonly idempotencyKey: string;
}

/** The outcome of {@link OutboundMessageStore.record}. */
export interface RecordOutcome {
  /** The inserted record, or the one already holding the idempotency key. */
  readonly record: OutboundMessageRecord;
  /** True when the key was taken already and nothing was inserted. */
  readonly duplicate: boolean;
}

/**
 * The log of everything the messaging providers sent (the sandbox's "outbox"), which is also the
 * ledger that keeps a step re-run after a crash from sending twice: a provider claims the step's
 * idempotency key by inserting before it calls the vendor. Scoping to a workspace is the caller's
 * job (check that the instance belongs to the workspace before listing).
 */
export interface OutboundMessageStore {
  /** Inserts unless a record with the same idempotency key exists; then returns that one untouched. */
  record(message: NewOutboundMessage): Promise<RecordOutcome>;
  /** Moves a `sending` (or `uncertain`) record to `sent`; undefined when no such record is left. */
  markSent(id: string, providerMessageId: string | null): Promise<OutboundMessageRecord | undefined>;
  /** Moves a `sending` record to `uncertain`, with the reason; undefined when it is not `sending`. */
  markUncertain(id: string, error: string): Promise<OutboundMessageRecord | undefined>;
  /** Deletes a `sending` record whose send certainly did not happen, freeing its key for another attempt. */
  release(id: string): Promise<void>;
  /** The instance's records, oldest first. */
  listByInstance(instanceId: string, page: PageRequest): Promise<Page<OutboundMessageRecord>>;
}
