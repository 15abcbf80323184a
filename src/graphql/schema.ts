import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type ResolverData } from 'type-graphql';
import { ActionTypeResolver } from './action-type/action-type.resolver.js';
import { ApiKeyResolver } from './api-key/api-key.resolver.js';
import { WorkflowResolver } from './workflow/workflow.resolver.js';

/** The resolver instances, built by the composition root with their services. */
export interface Resolvers {
  readonly workflow: WorkflowResolver;
  readonly actionType: ActionTypeResolver;
  readonly apiKey: ApiKeyResolver;
}

/** Resolver classes in a fixed order: the emitted SDL depends on it. */
export const resolverClasses = [WorkflowResolver, ActionTypeResolver, ApiKeyResolver] as const;

/** Builds the executable schema; resolvers are looked up among the given instances. */
export async function createSchema(resolvers: Resolvers): Promise<GraphQLSchema> {
  const instances = new Map<unknown, unknown>([
    [WorkflowResolver, resolvers.workflow],
    [ActionTypeResolver, resolvers.actionType],
    [ApiKeyResolver, resolvers.apiKey],
  ]);
  return buildSchema({
    resolvers: resolverClasses,
    container: {
      get: (cls: unknown, _data: ResolverData<object>) => {
        const instance = instances.get(cls);
        if (!instance) throw new Error(`No resolver instance for ${String(cls)}`);
        return instance;
      },
    },
    validate: false,
    emitSchemaFile: false,
  });
}
