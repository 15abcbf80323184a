import type { Clock } from '../ports/clock.port.js';
import type { MessagingChannel, MessagingProvider } from '../ports/messaging-provider.port.js';
import type { OutboundMessageStore, OutboundProvider } from '../ports/outbound-message.store.port.js';
import { DEFAULT_CLAIM_TIMEOUT_MS } from './delivery-ledger.js';
import { MetaMessagingProvider } from './meta-messaging.provider.js';
import { SandboxMessagingProvider } from './sandbox-messaging.provider.js';
import { TwilioMessagingProvider } from './twilio-messaging.provider.js';
import { DEFAULT_VENDOR_TIMEOUT_MS } from './vendor-http.js';

/** Twilio account settings; given, Twilio carries SMS and WhatsApp. */
export interface TwilioSettings {
  readonly accountSid: string;
  readonly authToken: string;
  /** E.164 SMS sender; without it SMS sends fail with `NOT_CONFIGURED`. */
  readonly smsFrom?: string;
  /** E.164 WhatsApp sender (`whatsapp:` prefix optional); without it WhatsApp sends fail with `NOT_CONFIGURED`. */
  readonly whatsappFrom?: string;
  readonly baseUrl?: string;
}

/** Meta app settings; given, Meta carries Instagram. */
export interface MetaSettings {
  readonly pageAccessToken: string;
  readonly igUserId?: string;
  readonly baseUrl?: string;
  readonly version?: string;
}

/** Options of {@link createMessagingProviders}. */
export interface MessagingProvidersOptions {
  /** Where every provider records what it sent; the sandbox's only destination. */
  readonly store: OutboundMessageStore;
  readonly twilio?: TwilioSettings;
  readonly meta?: MetaSettings;
  /** Defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Time one vendor API call may take; defaults to {@link DEFAULT_VENDOR_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /**
   * How long a claimed send counts as in flight before a re-run takes it for crashed; defaults to
   * the larger of {@link DEFAULT_CLAIM_TIMEOUT_MS} and four vendor timeouts.
   */
  readonly claimTimeoutMs?: number;
  readonly clock?: Clock;
}

/** The provider for a channel, as `ActionServices.messaging` expects it. */
export type MessagingProviderResolver = (channel: MessagingChannel) => MessagingProvider;

/** Which provider carries each channel under these options: Twilio and Meta when configured, the sandbox otherwise. */
export function messagingRoutes(options: Pick<MessagingProvidersOptions, 'twilio' | 'meta'>): Record<MessagingChannel, OutboundProvider> {
  return {
    sms: options.twilio ? 'twilio' : 'sandbox',
    whatsapp: options.twilio ? 'twilio' : 'sandbox',
    instagram: options.meta ? 'meta' : 'sandbox',
  };
}

/**
 * Builds one provider per vendor and answers per channel: Twilio for SMS and WhatsApp when its
 * credentials are given, Meta for Instagram when its token is given, the sandbox otherwise. Only
 * the Instagram provider offers `likeMessage`.
 */
export function createMessagingProviders(options: MessagingProvidersOptions): MessagingProviderResolver {
  const timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  const claimTimeoutMs = options.claimTimeoutMs ?? Math.max(DEFAULT_CLAIM_TIMEOUT_MS, 4 * timeoutMs);
  if (claimTimeoutMs <= timeoutMs) {
    // A claim expiring while its own call may still succeed would let a re-run report a live send as uncertain.
    throw new Error(`claimTimeoutMs (${claimTimeoutMs}) must exceed timeoutMs (${timeoutMs})`);
  }
  const ledger = { store: options.store, clock: options.clock, claimTimeoutMs };
  const vendor = { ...ledger, fetch: options.fetch, timeoutMs };

  const sandbox = new SandboxMessagingProvider(ledger);
  const twilio = options.twilio ? new TwilioMessagingProvider({ ...vendor, ...options.twilio }) : undefined;
  const meta = options.meta ? new MetaMessagingProvider({ ...vendor, ...options.meta }) : undefined;

  const providers: Record<MessagingChannel, MessagingProvider> = {
    sms: withoutReactions(twilio ?? sandbox),
    whatsapp: withoutReactions(twilio ?? sandbox),
    instagram: meta ?? sandbox,
  };
  return (channel) => providers[channel];
}

/** The port promises `likeMessage` only where the channel supports reactions. */
const withoutReactions = (provider: MessagingProvider): MessagingProvider => ({
  sendMessage: (message) => provider.sendMessage(message),
});
