import type {
  LikeMessageRequest,
  MessagingProvider,
  OutgoingMessage,
  SentMessage,
} from '../ports/messaging-provider.port.js';
import { DeliveryLedger, type DeliveryLedgerOptions } from './delivery-ledger.js';

/** The provider name the sandbox records its messages under. */
export const SANDBOX_PROVIDER = 'sandbox';

/** Prefix of the provider message ids the sandbox hands out: `sandbox-<record id>`. */
export const SANDBOX_MESSAGE_ID_PREFIX = 'sandbox-';

/** A like, optionally naming whom the liked message came from (recorded as the recipient). */
export interface SandboxLikeRequest extends LikeMessageRequest {
  readonly recipientId?: string;
}

/**
 * Sends nothing anywhere: records each message and like in the outbound store, where users can
 * see what their workflow would have sent. A repeat with the same idempotency key records nothing
 * and answers with the first record's id.
 */
export class SandboxMessagingProvider implements MessagingProvider {
  private readonly ledger: DeliveryLedger;

  constructor(options: DeliveryLedgerOptions) {
    this.ledger = new DeliveryLedger(options);
  }

  async sendMessage(message: OutgoingMessage): Promise<SentMessage> {
    const record = await this.ledger.record(SANDBOX_PROVIDER, message, sandboxMessageId);
    // A record of another provider (the deployment switched to the sandbox between attempts) may carry no id.
    return { providerMessageId: record.providerMessageId ?? sandboxMessageId(record.id) };
  }

  async likeMessage(request: SandboxLikeRequest): Promise<void> {
    await this.ledger.record(SANDBOX_PROVIDER, request, sandboxMessageId);
  }
}

const sandboxMessageId = (id: string): string => `${SANDBOX_MESSAGE_ID_PREFIX}${id}`;
