import type { Actor } from '../services/api-key.service.js';
import type { SubscriptionSources } from './subscription/subscription-sources.js';

/** Per-request (or per-socket) GraphQL context: the authenticated actor and the live sources. */
export interface GraphQLContext {
  readonly actor: Actor;
  readonly live: SubscriptionSources;
}
