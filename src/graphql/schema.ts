import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type ResolverData } from 'type-graphql';
import { ActionTypeResolver } from './action-type/action-type.resolver.js';
import { ApiKeyResolver } from './api-key/api-key.resolver.js';
import { EventResolver } from './event/event.resolver.js';
import { EventSigningResolver } from './event-signing/event-signing.resolver.js';
import { InstanceResolver, StepRunResolver, WorkflowRunsResolver } from './instance/instance.resolver.js';
import { SubscriptionResolver } from './subscription/subscription.resolver.js';
import { WebhookResolver } from './webhook/webhook.resolver.js';
import { StepResolver, WorkflowVersionResolver } from './workflow/step.resolver.js';
import { WorkflowResolver } from './workflow/workflow.resolver.js';

/** Resolver classes in a fixed order: the emitted SDL depends on it. */
export const resolverClasses = [
  WorkflowResolver,
  StepResolver,
  WorkflowVersionResolver,
  WorkflowRunsResolver,
  InstanceResolver,
  StepRunResolver,
  ActionTypeResolver,
  ApiKeyResolver,
  SubscriptionResolver,
  WebhookResolver,
  EventResolver,
  EventSigningResolver,
] as const;

/**
 * type-graphql insists on a PubSub when a schema has subscriptions, even though every one of ours
 * brings its own `subscribe` function over the realtime service; this one is never used.
 */
export const unusedPubSub = {
  publish: () => {
    throw new Error('subscriptions stream from the realtime service, not from a PubSub');
  },
  subscribe: () => {
    throw new Error('subscriptions stream from the realtime service, not from a PubSub');
  },
};

type ResolverClass = (typeof resolverClasses)[number];

/** The resolver instances, built by the composition root with their services. */
export type ResolverInstances = readonly InstanceType<ResolverClass>[];

/** Builds the executable schema; each resolver class is served by the given instance of it. */
export async function createSchema(resolvers: ResolverInstances): Promise<GraphQLSchema> {
  const instances = new Map<unknown, unknown>(resolvers.map((r) => [r.constructor, r]));
  for (const cls of resolverClasses) {
    if (!instances.has(cls)) throw new Error(`No resolver instance for ${cls.name}`);
  }
  return buildSchema({
    resolvers: resolverClasses,
    container: { get: (cls: unknown, _data: ResolverData<object>) => instances.get(cls) },
    validate: false,
    emitSchemaFile: false,
    pubSub: unusedPubSub,
  });
}
