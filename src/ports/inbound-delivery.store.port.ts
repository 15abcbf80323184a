import type { InboundChannel, InboundProvider } from './inbound-message.store.port.js';

/** A text message received on a channel, whatever provider delivered it. */
export interface InboundMessage {
  readonly provider: InboundProvider;
  readonly channel: InboundChannel;
  /** Channel address of the sender: an E.164 number (SMS, WhatsApp) or a scoped user id (Instagram). */
  readonly from: string;
  /** Channel address it was sent to: our number or account id. */
  readonly to: string;
  readonly text: string;
  /** The provider's id of the message; a redelivery carries the same. */
  readonly providerMessageId: string;
  readonly receivedAt: Date;
}

/** A delivery whose signature checked out, as it is stored before it is answered. */
export interface NewInboundDelivery {
  readonly provider: InboundProvider;
  /**
   * Hex SHA-256 of exactly what the provider signed (Meta: the body; Twilio: the URL and the
   * concatenated parameters). Unique per provider: a redelivery finds the first delivery.
   */
  readonly signedDigest: string;
  /**
   * Hex SHA-256 of the delivery's content as parsed. Equal to the stored one for a true
   * redelivery; different when the same signed bytes were split into other parameters.
   */
  readonly contentDigest: string;
  /** Its text messages, in the order delivered; none makes the delivery processed at once. */
  readonly messages: readonly InboundMessage[];
  /** Events that were not text messages we handle. */
  readonly ignored: number;
  readonly receivedAt: Date;
}

/** A stored delivery. */
export interface InboundDeliveryRecord {
  readonly id: string;
  readonly provider: InboundProvider;
  readonly contentDigest: string;
  readonly messageCount: number;
  readonly ignored: number;
  readonly receivedAt: Date;
  /** Set once every message was handled; its messages are no longer kept then. */
  readonly processedAt: Date | null;
}

/** A delivery one process holds for processing until its lease runs out. */
export interface ClaimedInboundDelivery {
  readonly delivery: InboundDeliveryRecord;
  readonly messages: readonly InboundMessage[];
  /** Which claim of the delivery this is; extending, releasing and finishing need it to be the latest. */
  readonly claim: number;
}

/**
 * Verified inbound deliveries, stored before they are answered and processed afterwards, so none
 * is lost when a process dies after answering. Any number of processes share the store: a claim
 * is a lease that one process holds at a time, and a delivery whose lease ran out (its process
 * died) is claimed again. Deployment-wide, like the inbound endpoints.
 */
export interface InboundDeliveryStore {
  /**
   * Stores a delivery in one insert, or returns the one already stored with the same provider
   * and signed digest (`created: false`). With `claimForMs`, a new delivery with messages is
   * stored already claimed by the caller for that long, and returned as `claimed`.
   */
  save(
    input: NewInboundDelivery,
    options?: { readonly claimForMs?: number },
  ): Promise<{ delivery: InboundDeliveryRecord; created: boolean; claimed?: ClaimedInboundDelivery }>;
  /**
   * Claims the oldest unprocessed delivery that no live lease holds, for `leaseMs`; two callers
   * never get the same claim. Undefined when there is none.
   */
  claimNext(leaseMs: number): Promise<ClaimedInboundDelivery | undefined>;
  /** Extends the lease; false when the claim is no longer the latest or the delivery is processed. */
  extendClaim(claimed: ClaimedInboundDelivery, leaseMs: number): Promise<boolean>;
  /** Gives the delivery back unprocessed, for any process to claim at once. */
  release(claimed: ClaimedInboundDelivery): Promise<void>;
  /** Marks the delivery processed and drops its messages; false when the claim was lost meanwhile. */
  finish(claimed: ClaimedInboundDelivery, startedCount: number): Promise<boolean>;
}
