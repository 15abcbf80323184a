import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports/clock.port.js';
import type { LikeMessageRequest, OutgoingMessage, ProviderCallOrigin } from '../ports/messaging-provider.port.js';
import type {
  NewOutboundMessage,
  OutboundMessageRecord,
  OutboundMessageStore,
  OutboundProvider,
} from '../ports/outbound-message.store.port.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';

/** Default of {@link DeliveryLedgerOptions.claimTimeoutMs}. */
export const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;

/** What a provider knows about a delivery before it has an id or an outcome. */
export type DeliveryDraft = Omit<NewOutboundMessage, 'id' | 'status' | 'providerMessageId'>;

/** A call a provider records: a message, or a like (told apart by its `messageId`). */
export type DeliveryCall = OutgoingMessage | LikeMessageRequest;

/** The ledger record of a call made by `provider`: the one place a delivery's fields are written out. */
export function deliveryDraft(provider: OutboundProvider, call: DeliveryCall): DeliveryDraft {
  const origin = { instanceId: call.instanceId, stepId: call.stepId, idempotencyKey: call.idempotencyKey, channel: call.channel, provider };
  return 'messageId' in call
    ? { ...origin, kind: 'like', recipient: call.recipientId ?? null, text: null, targetMessageId: call.messageId }
    : { ...origin, kind: 'message', recipient: call.to, text: call.text, targetMessageId: null };
}

/** Options of a {@link DeliveryLedger}. */
export interface DeliveryLedgerOptions {
  readonly store: OutboundMessageStore;
  /** Defaults to the system clock. */
  readonly clock?: Clock;
  /**
   * How long a `sending` claim stands for an attempt still in flight. An older claim is taken as
   * the mark of an attempt that died mid-send, whose outcome is unknown. Must exceed the vendor
   * request timeout (and the clock skew between app and database).
   */
  readonly claimTimeoutMs?: number;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * At-most-once delivery over the outbound store, by record-before-send: an attempt first claims
 * the step's idempotency key with a `sending` record, calls the vendor only when the claim is
 * new, then marks the record `sent`. A re-run after a crash finds the claim and does not call the
 * vendor again: it returns the recorded id when the send completed, and otherwise reports the
 * delivery as uncertain rather than risk a second copy on somebody's phone.
 *
 * Check-then-send (look up, send, then record) would leave the window between the vendor
 * accepting and the record being written open to double sends, and Meta's Send API has no
 * idempotency key to close it.
 */
export class DeliveryLedger {
  private readonly store: OutboundMessageStore;
  private readonly clock: Clock;
  private readonly claimTimeoutMs: number;

  constructor(options: DeliveryLedgerOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.claimTimeoutMs = options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
  }

  /**
   * Claims the key, runs `send` (which resolves with the vendor's message id, or null when it
   * returns none) and records the outcome. `send` should reject with a {@link ProviderFailure}
   * whose `delivery` says whether the vendor can have acted; any other error counts as uncertain.
   * `beforeSend` (the caller's {@link ProviderCallOrigin.beforeSend}) runs between the claim and
   * the vendor call; when it throws, the claim is released and nothing is sent.
   */
  async deliverOnce(
    draft: DeliveryDraft,
    send: () => Promise<string | null>,
    beforeSend?: () => void,
  ): Promise<OutboundMessageRecord> {
    const id = randomUUID();
    const { record, duplicate } = await this.store.record({ ...draft, id, status: 'sending', providerMessageId: null });
    if (duplicate) return this.settleDuplicate(record);

    let providerMessageId: string | null;
    try {
      try {
        beforeSend?.();
      } catch (err) {
        throw new ProviderFailure(err instanceof Error ? err.message : String(err), {
          code: ProviderFailureCode.ABORTED,
          retryable: true,
          delivery: 'not-sent',
          cause: err,
        });
      }
      providerMessageId = await send();
    } catch (err) {
      throw await this.settleFailure(id, err);
    }
    const sent = await this.store.markSent(id, providerMessageId);
    return sent ?? { ...record, status: 'sent', providerMessageId };
  }

  /**
   * {@link deliverOnce} for a provider's call: records it as {@link deliveryDraft} writes it, and
   * runs the call's own `beforeSend` between the claim and `send`.
   */
  deliver(provider: OutboundProvider, call: DeliveryCall, send: () => Promise<string | null>): Promise<OutboundMessageRecord> {
    return this.deliverOnce(deliveryDraft(provider, call), send, call.beforeSend);
  }

  /** {@link recordSent} for a provider's call that needs no vendor (the sandbox). */
  record(provider: OutboundProvider, call: DeliveryCall, providerMessageIdOf: (id: string) => string): Promise<OutboundMessageRecord> {
    return this.recordSent(deliveryDraft(provider, call), providerMessageIdOf, call.beforeSend);
  }

  /** Records a delivery that needs no vendor call (the sandbox) as `sent`, once per key; `beforeSend` runs first. */
  async recordSent(
    draft: DeliveryDraft,
    providerMessageIdOf: (id: string) => string,
    beforeSend?: () => void,
  ): Promise<OutboundMessageRecord> {
    beforeSend?.();
    const id = randomUUID();
    const { record, duplicate } = await this.store.record({
      ...draft,
      id,
      status: 'sent',
      providerMessageId: providerMessageIdOf(id),
    });
    return duplicate ? this.settleDuplicate(record) : record;
  }

  /** What a repeat attempt gets for a key that is already claimed. */
  private async settleDuplicate(record: OutboundMessageRecord): Promise<OutboundMessageRecord> {
    if (record.status === 'sent') return record;
    if (record.status === 'sending') {
      const age = this.clock.now().getTime() - record.updatedAt.getTime();
      if (age < this.claimTimeoutMs) {
        throw new ProviderFailure('Another attempt of this step is sending the message', {
          code: ProviderFailureCode.SEND_IN_PROGRESS,
          retryable: true,
        });
      }
      const reason = 'The attempt that started this send stopped before recording its outcome';
      const marked = await this.store.markUncertain(record.id, reason);
      // The claim changed state meanwhile (the slow attempt finished after all); the next attempt sees how.
      if (marked === undefined) {
        throw new ProviderFailure('Another attempt of this step has just settled the send', {
          code: ProviderFailureCode.SEND_IN_PROGRESS,
          retryable: true,
        });
      }
      throw uncertain(reason);
    }
    throw uncertain(record.error ?? 'An earlier attempt may have delivered it');
  }

  /** Releases or marks the claim after `send` failed; returns what to reject with. */
  private async settleFailure(id: string, err: unknown): Promise<unknown> {
    // Bookkeeping errors are dropped here: the caller must learn the vendor's answer, and a claim
    // left `sending` is read as uncertain by later attempts once it times out, so nothing is sent twice.
    if (err instanceof ProviderFailure && err.delivery === 'not-sent') {
      await this.store.release(id).catch(() => undefined);
      return err;
    }
    const reason = err instanceof Error ? err.message : String(err);
    await this.store.markUncertain(id, reason).catch(() => undefined);
    return uncertain(reason, err);
  }
}

const uncertain = (reason: string, cause?: unknown): ProviderFailure =>
  new ProviderFailure(
    `The message may or may not have been delivered (${reason}); ` +
      'to avoid a duplicate it is not sent again for this step of this run.',
    { code: ProviderFailureCode.DELIVERY_UNCERTAIN, retryable: false, delivery: 'uncertain', cause },
  );
