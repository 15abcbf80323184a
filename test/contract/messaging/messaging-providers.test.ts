import { MESSAGING_ADAPTERS } from './messaging-harness.js';
import { describeMessagingProviderContract } from './messaging-provider.contract.js';

// Twilio and Meta talk to a local fake of their API through their base-URL setting.
for (const adapter of MESSAGING_ADAPTERS) describeMessagingProviderContract(adapter);
