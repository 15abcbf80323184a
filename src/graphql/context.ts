import type { Actor } from '../services/api-key.service.js';

/** Per-request GraphQL context: the authenticated actor. */
export interface GraphQLContext {
  readonly actor: Actor;
}
