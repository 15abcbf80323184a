import type { MessagingSetup, MessagingVendor } from './messaging-vendor.js';
import { metaVendor } from './meta-messaging.provider.js';
import { twilioVendor } from './twilio-messaging.provider.js';

/**
 * Every messaging vendor the product ships with, in routing order (for a channel two vendors carry,
 * the first one set up wins; with none set up, the sandbox records its messages). Adding a vendor:
 * one `*-messaging.provider.ts` file ending with its `defineMessagingVendor` declaration, and one
 * line here. Its settings are then validated with the configuration, and its channels routed.
 */
export const messagingVendors: readonly MessagingVendor[] = [
  twilioVendor,
  metaVendor,
];

/**
 * The secrets the inbound endpoints (`/inbound/meta`, `/inbound/twilio` in `src/http`) check
 * deliveries with, read from their vendors' settings.
 */
export const inboundSecrets = (messaging: MessagingSetup) => {
  const meta = messaging.settingsOf(metaVendor);
  return {
    metaAppSecret: meta.META_APP_SECRET,
    metaVerifyToken: meta.META_VERIFY_TOKEN,
    twilioAuthToken: messaging.settingsOf(twilioVendor).TWILIO_AUTH_TOKEN,
  };
};
