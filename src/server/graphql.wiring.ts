import 'reflect-metadata';
import type { IncomingMessage, Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Router } from 'express';
import type { ActionRegistry } from '../actions/action-registry.js';
import { ActionTypeResolver } from '../graphql/action-type/action-type.resolver.js';
import { ApiKeyResolver } from '../graphql/api-key/api-key.resolver.js';
import { LargeValues, type LargeValueSource } from '../graphql/common/large-values.loader.js';
import type { GraphQLContext } from '../graphql/context.js';
import { authenticationError, createErrorFormatter } from '../graphql/error-mapping.js';
import { EventResolver } from '../graphql/event/event.resolver.js';
import { EventSigningResolver } from '../graphql/event-signing/event-signing.resolver.js';
import { startGraphQLWs, type GraphQLWsServer } from '../graphql/graphql-ws.server.js';
import { createGraphQLHardening, graphqlHttpErrorHandler, ResponseBudget, type GraphQLHardeningOptions } from '../graphql/hardening/index.js';
import { InstanceResolver, StepRunResolver, WorkflowRunsResolver } from '../graphql/instance/instance.resolver.js';
import { createSchema } from '../graphql/schema.js';
import { SubscriptionSources } from '../graphql/subscription/subscription-sources.js';
import { SubscriptionResolver } from '../graphql/subscription/subscription.resolver.js';
import { WebhookResolver } from '../graphql/webhook/webhook.resolver.js';
import { StepResolver, WorkflowVersionResolver } from '../graphql/workflow/step.resolver.js';
import { WorkflowResolver } from '../graphql/workflow/workflow.resolver.js';
import type { Config } from './config.js';
import type { Engine } from './engine.wiring.js';
import type { Logger } from './logger.js';
import type { Services } from './services.wiring.js';
import type { Storage } from './storage.wiring.js';

/** The GraphQL protections the configuration asks for (see graphql/hardening). */
export function hardeningOptions(config: Config): GraphQLHardeningOptions {
  return {
    limits: {
      maxDepth: config.GRAPHQL_MAX_DEPTH,
      maxAliases: config.GRAPHQL_MAX_ALIASES,
      maxCost: config.GRAPHQL_MAX_COST,
      maxDirectives: config.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: config.GRAPHQL_MAX_TOKENS,
    },
    // GRAPHQL_INTROSPECTION, or unset, everywhere but production.
    introspection: config.GRAPHQL_INTROSPECTION ?? config.NODE_ENV !== 'production',
    maxBodyBytes: config.GRAPHQL_MAX_BODY_BYTES,
    maxResponseBytes: config.GRAPHQL_MAX_RESPONSE_BYTES,
    maxPageSize: config.MAX_PAGE_SIZE,
  };
}

/** The GraphQL API on both transports. */
export interface GraphQLApi {
  /** Mount at `/graphql` (after the playground): body limit, Apollo, GraphQL-shaped errors. */
  readonly router: Router;
  /** See GraphQLWsServer.closeSocketsOfKey. */
  closeSocketsOfKey(apiKeyId: string): Promise<void>;
  /** Closes the sockets, then lets Apollo finish the requests it is answering. */
  stop(): Promise<void>;
}

export interface GraphQLWiringOptions {
  readonly config: Config;
  readonly storage: Storage;
  readonly services: Services;
  readonly engine: Engine;
  readonly registry: ActionRegistry;
  readonly httpServer: Server;
  readonly clientAddress: (request: IncomingMessage) => string;
  readonly logger: Logger;
}

export async function wireGraphQL(options: GraphQLWiringOptions): Promise<GraphQLApi> {
  const { config, storage, services, engine, registry, httpServer, clientAddress, logger } = options;
  const instanceDeps = {
    runner: engine.runner,
    runs: storage.runQueries,
    workflows: storage.workflows,
    messages: storage.outboundMessages,
    maxPageSize: config.MAX_PAGE_SIZE,
  };
  const schema = await createSchema([
    new WorkflowResolver({
      editing: services.editing,
      deletion: services.deletion,
      store: storage.workflows,
      schedules: storage.schedules,
      catalog: registry,
      maxPageSize: config.MAX_PAGE_SIZE,
    }),
    new StepResolver(),
    new WorkflowVersionResolver(),
    new WorkflowRunsResolver(instanceDeps),
    new InstanceResolver(instanceDeps),
    new StepRunResolver(instanceDeps),
    new ActionTypeResolver(registry),
    new ApiKeyResolver({ keys: services.apiKeys, store: storage.apiKeys }),
    new SubscriptionResolver(),
    new WebhookResolver({ webhooks: services.webhooks }),
    new EventResolver({ events: engine.events }),
    new EventSigningResolver({ eventSigning: services.eventSigning }),
  ]);
  const live = new SubscriptionSources({ realtime: services.live, runs: storage.runQueries, workflows: storage.workflows });
  const largeValueSource: LargeValueSource = {
    stepConfigs: (workflowId, stepIds) => storage.workflows.readStepConfigs(workflowId, stepIds),
    versionGraph: (workflowId, version) => storage.workflows.readVersionGraph(workflowId, version),
    instanceInputs: (ids) => storage.runQueries.readInputs(ids),
  };
  // Limits, introspection, CSRF and masking: the same on both transports.
  const hardening = createGraphQLHardening(hardeningOptions(config));
  const newLargeValues = () => new LargeValues(largeValueSource, new ResponseBudget(hardening.maxResponseBytes));
  const formatError = createErrorFormatter({ logger, hideSuggestions: !hardening.introspection });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    ...hardening.apollo,
    // main.ts owns SIGINT/SIGTERM and stops everything in order; Apollo's own handler raced it.
    stopOnTerminationSignals: false,
    // Apollo's default landing page loads from a CDN; the playground replaces it.
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled(), ...hardening.apolloPlugins],
  });
  await apollo.start();
  const router = express.Router();
  router.use(
    express.json({ limit: hardening.maxBodyBytes }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        try {
          const actor = await services.apiKeys.authenticate(req.headers.authorization, { clientAddress: clientAddress(req) });
          return { actor, live, largeValues: newLargeValues() };
        } catch (err) {
          throw authenticationError(err);
        }
      },
    }),
    graphqlHttpErrorHandler({ logger, maxBodyBytes: hardening.maxBodyBytes }),
  );

  const ws: GraphQLWsServer = startGraphQLWs({
    httpServer,
    path: '/graphql',
    schema,
    apiKeys: services.apiKeys,
    live,
    logger: logger.child({ component: 'graphql-ws' }),
    formatError,
    authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
    maxSubscriptionsPerSocket: config.MAX_SUBSCRIPTIONS_PER_SOCKET,
    maxSocketsPerKey: config.MAX_SOCKETS_PER_API_KEY,
    // Half the pool at most, so that a flood of new sockets leaves connections to HTTP and the
    // engine; one on the embedded database, which runs one query at a time anyway.
    keyCheckConcurrency: storage.database.embedded ? 1 : Math.max(1, Math.floor(config.DATABASE_POOL_SIZE / 2)),
    validationRules: hardening.validationRules,
    parseOptions: hardening.parseOptions,
    maxPayloadBytes: hardening.maxBodyBytes,
    clientAddress,
    keyRecheckMs: config.REALTIME_POLL_MS,
    operationCheck: hardening.operationCheck,
    newLargeValues,
  });

  return {
    router,
    closeSocketsOfKey: (apiKeyId) => ws.closeSocketsOfKey(apiKeyId),
    async stop() {
      await ws.close();
      await apollo.stop();
    },
  };
}
