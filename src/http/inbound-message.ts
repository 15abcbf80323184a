import type { InboundMessage } from '../ports/inbound-delivery.store.port.js';
import type { InboundChannel } from '../ports/inbound-message.store.port.js';

export type { InboundMessage } from '../ports/inbound-delivery.store.port.js';

/**
 * The trigger input of an incoming-message run: `trigger.message.from`, `.text`, `.id` (the
 * provider's message id, which the like action takes) and so on.
 */
export type IncomingMessageTriggerInput = {
  message: { id: string; from: string; to: string; text: string; channel: InboundChannel; receivedAt: string };
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
