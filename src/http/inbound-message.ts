import type { InboundProvider } from '../ports/inbound-message.store.port.js';
import type { MessagingChannel } from '../ports/messaging-provider.port.js';

/** A text message received on a channel, whatever provider delivered it. */
export interface InboundMessage {
  readonly provider: InboundProvider;
  readonly channel: MessagingChannel;
  /** Channel address of the sender: an E.164 number (SMS, WhatsApp) or a scoped user id (Instagram). */
  readonly from: string;
  /** Channel address it was sent to: our number or account id. */
  readonly to: string;
  readonly text: string;
  /** The provider's id of the message; a redelivery carries the same. */
  readonly providerMessageId: string;
  readonly receivedAt: Date;
}

/**
 * The trigger input of an incoming-message run: `trigger.message.from`, `.text`, `.id` (the
 * provider's message id, which the like action takes) and so on.
 */
export type IncomingMessageTriggerInput = {
  message: { id: string; from: string; to: string; text: string; channel: MessagingChannel; receivedAt: string };
};

export const incomingMessageInput = (m: InboundMessage): IncomingMessageTriggerInput => ({
  message: {
    id: m.providerMessageId,
    from: m.from,
    to: m.to,
    text: m.text,
    channel: m.channel,
    receivedAt: m.receivedAt.toISOString(),
  },
});
