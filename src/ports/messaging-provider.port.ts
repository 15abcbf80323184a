/**
 * A channel a workflow can send on (`sms`, `whatsapp`, `instagram`...). The set is open: it is
 * the channels the deployment's messaging vendors declare (see `src/providers/vendors.ts`), and a
 * send on a channel no vendor declares fails with `NOT_CONFIGURED`.
 */
export type MessagingChannel = string;

/** Fields every provider call carries to tie it to the step that made it. */
export interface ProviderCallOrigin {
  readonly instanceId: string;
  readonly stepId: string;
  /**
   * Same for every attempt of the same step in the same run. A provider must not perform the
   * effect twice for one key (pass it to the vendor API, or remember it).
   */
  readonly idempotencyKey: string;
  /**
   * Called right before the vendor is contacted; when it throws, the provider must not send and
   * must treat the message as not sent (the engine uses it to stop an attempt whose lease is gone).
   */
  readonly beforeSend?: () => void;
}

/** One outgoing text message. */
export interface OutgoingMessage extends ProviderCallOrigin {
  readonly channel: MessagingChannel;
  /** Channel-specific recipient: an E.164 number (WhatsApp, SMS) or a scoped user id (Instagram). */
  readonly to: string;
  readonly text: string;
}

/** A message the provider accepted. */
export interface SentMessage {
  readonly providerMessageId: string;
}

/** A reaction ("like") on a message received earlier, on a channel whose vendor supports reactions. */
export interface LikeMessageRequest extends ProviderCallOrigin {
  readonly channel: MessagingChannel;
  /** The provider's id of the message to like. */
  readonly messageId: string;
  /** Who sent that message (Meta's reaction call addresses the conversation by it). */
  readonly recipientId?: string;
}

/**
 * Sends on one messaging channel. Implementations wrap a vendor API (Meta Graph, Twilio...) and
 * are obtained per channel. Rejections may carry a `PortFailure` (`retryable: false` for
 * permanent failures such as an invalid recipient); anything else is treated as transient.
 */
export interface MessagingProvider {
  sendMessage(message: OutgoingMessage): Promise<SentMessage>;
  /** Present only on providers whose channel supports reactions. */
  likeMessage?(request: LikeMessageRequest): Promise<void>;
}
