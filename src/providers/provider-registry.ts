import type { Clock } from '../ports/clock.port.js';
import type { MessagingChannel, MessagingProvider } from '../ports/messaging-provider.port.js';
import type { OutboundMessageStore, OutboundProvider } from '../ports/outbound-message.store.port.js';
import { DEFAULT_CLAIM_TIMEOUT_MS } from './delivery-ledger.js';
import type { ConfiguredVendor, MessagingVendorDeps } from './messaging-vendor.js';
import { ProviderFailure, ProviderFailureCode } from './provider-failure.js';
import { SANDBOX_PROVIDER, SandboxMessagingProvider } from './sandbox-messaging.provider.js';
import { DEFAULT_VENDOR_TIMEOUT_MS } from './vendor-http.js';

/** Options of {@link createMessagingProviders}. */
export interface MessagingProvidersOptions {
  /** Where every provider records what it sent; the sandbox's only destination. */
  readonly store: OutboundMessageStore;
  /**
   * The deployment's vendors with their settings (`config.messaging.vendors`), in registration
   * order. Their channels are the channels there are; none: no channel can be sent on.
   */
  readonly vendors: readonly ConfiguredVendor[];
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

/** The provider for a channel, as `ActionServices.messaging` expects it, and who carries each channel. */
export interface MessagingProviders {
  (channel: MessagingChannel): MessagingProvider;
  /** The name of the provider that carries each channel: a vendor, or the sandbox. */
  readonly routes: Readonly<Record<MessagingChannel, OutboundProvider>>;
}

/**
 * Routes each channel the vendors declare to the first vendor that carries it and is set up, and
 * to the sandbox (which records and sends nothing) when none is. A channel's provider offers
 * `likeMessage` only where its vendor declares reactions on it (the sandbox: where any vendor
 * does). A channel no vendor declares fails with a non-retryable `NOT_CONFIGURED`.
 */
export function createMessagingProviders(options: MessagingProvidersOptions): MessagingProviders {
  const timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
  const claimTimeoutMs = options.claimTimeoutMs ?? Math.max(DEFAULT_CLAIM_TIMEOUT_MS, 4 * timeoutMs);
  if (claimTimeoutMs <= timeoutMs) {
    // A claim expiring while its own call may still succeed would let a re-run report a live send as uncertain.
    throw new Error(`claimTimeoutMs (${claimTimeoutMs}) must exceed timeoutMs (${timeoutMs})`);
  }
  const deps: MessagingVendorDeps = { store: options.store, clock: options.clock, claimTimeoutMs, fetch: options.fetch, timeoutMs };
  const sandbox = new SandboxMessagingProvider(deps);
  const reactive = new Set(options.vendors.flatMap((vendor) => vendor.reactions));

  const providers = new Map<MessagingChannel, MessagingProvider>();
  const routes: Record<MessagingChannel, OutboundProvider> = {};
  for (const vendor of options.vendors) {
    const provider = vendor.create(deps);
    for (const channel of vendor.channels) {
      if (provider === undefined || providers.has(channel)) continue;
      providers.set(channel, vendor.reactions.includes(channel) ? provider : withoutReactions(provider));
      routes[channel] = vendor.name;
    }
  }
  for (const channel of options.vendors.flatMap((vendor) => vendor.channels)) {
    if (providers.has(channel)) continue;
    providers.set(channel, reactive.has(channel) ? sandbox : withoutReactions(sandbox));
    routes[channel] = SANDBOX_PROVIDER;
  }

  const resolve = (channel: MessagingChannel): MessagingProvider => {
    const provider = providers.get(channel);
    if (provider === undefined) {
      throw new ProviderFailure(`No messaging vendor of this deployment carries the channel '${channel}'`, {
        code: ProviderFailureCode.NOT_CONFIGURED,
        retryable: false,
      });
    }
    return provider;
  };
  return Object.assign(resolve, { routes: Object.freeze(routes) });
}

/** The port promises `likeMessage` only where the channel supports reactions. */
const withoutReactions = (provider: MessagingProvider): MessagingProvider => ({
  sendMessage: (message) => provider.sendMessage(message),
});
