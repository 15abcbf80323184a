import type { Actor } from '../services/api-key.service.js';
import type { LargeValues } from './common/large-values.loader.js';
import type { SubscriptionSources } from './subscription/subscription-sources.js';

/** Per-request (or per-socket operation) GraphQL context: the authenticated actor, the live sources, and this execution's large values. */
export interface GraphQLContext {
  readonly actor: Actor;
  readonly live: SubscriptionSources;
  /** Step configs, version graphs and trigger inputs, read when asked for and weighed against the response budget. */
  readonly largeValues: LargeValues;
}
