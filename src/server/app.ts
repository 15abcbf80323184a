import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError } from 'graphql';
import { ActionRegistry } from '../actions/action-registry.js';
import { builtinActions } from '../actions/builtin-actions.js';
import { AppError, ErrorCode } from '../domain/errors.js';
import type { GraphQLContext } from '../graphql/context.js';
import { createErrorFormatter } from '../graphql/error-mapping.js';
import { createSchema } from '../graphql/schema.js';
import { ActionTypeResolver } from '../graphql/action-type/action-type.resolver.js';
import { ApiKeyResolver } from '../graphql/api-key/api-key.resolver.js';
import { StepResolver, WorkflowVersionResolver } from '../graphql/workflow/step.resolver.js';
import { WorkflowResolver } from '../graphql/workflow/workflow.resolver.js';
import { ApiKeyRepository } from '../persistence/api-key.repository.js';
import { openDatabase, type Database } from '../persistence/database.js';
import { WorkflowRepository } from '../persistence/workflow.repository.js';
import { ApiKeyService } from '../services/api-key.service.js';
import { FailedKeyAttemptLimiter } from '../services/failed-key-attempts.limiter.js';
import { clientAddressResolver } from '../http/client-address.js';
import { StepExecutor } from '../engine/step-executor.js';
import { FailureHandlers } from '../engine/failure-handlers.js';
import { Sweeper } from '../engine/sweeper.js';
import { VersionCache } from '../engine/version-cache.js';
import { WorkflowRunner } from '../engine/workflow-runner.js';
import type { EngineDeps } from '../engine/engine-deps.js';
import { InstanceResolver, WorkflowRunsResolver } from '../graphql/instance/instance.resolver.js';
import { OutboundMessageRepository } from '../persistence/outbound-message.repository.js';
import { RunCommandRepository } from '../persistence/run-command.repository.js';
import { RunFeedRepository } from '../persistence/run-feed.repository.js';
import { RunQueryRepository } from '../persistence/run-query.repository.js';
import { RunSweepRepository } from '../persistence/run-sweep.repository.js';
import type { StepScheduler } from '../ports/step-scheduler.port.js';
import { createMessagingProviders } from '../providers/provider-registry.js';
import { SafeHttpClient } from '../providers/safe-http.client.js';
import { createStepScheduler } from '../scheduler/create-step-scheduler.js';
import type { EventBus } from '../ports/event-bus.port.js';
import { InProcessEventBus } from '../realtime/in-process-event-bus.js';
import { PostgresEventBus } from '../realtime/postgres-event-bus.js';
import { RealtimeService } from '../realtime/realtime.service.js';
import { SubscriptionSources } from '../graphql/subscription/subscription-sources.js';
import { SubscriptionResolver } from '../graphql/subscription/subscription.resolver.js';
import { startGraphQLWs } from '../graphql/graphql-ws.server.js';
import { LargeValues, type LargeValueSource } from '../graphql/common/large-values.loader.js';
import { createGraphQLHardening, graphqlHttpErrorHandler, ResponseBudget, withRequestErrors } from '../graphql/hardening/index.js';
import { createPlaygroundRouter, isPlaygroundEnabled } from '../http/playground/index.js';
import { WorkflowEditingService } from '../services/workflow-editing.service.js';
// [webhooks] issue 5: webhook and inbound-channel endpoints.
import { WebhookResolver } from '../graphql/webhook/webhook.resolver.js';
import { createHttpEndpoints } from '../http/http-endpoints.js';
import { httpErrorHandler, unknownRouteHandler } from '../http/http-error.js';
import { WebhookService } from '../http/webhook.service.js';
import { InboundDeliveryRepository } from '../persistence/inbound-delivery.repository.js';
import { InboundMessageRepository } from '../persistence/inbound-message.repository.js';
import { WebhookRepository } from '../persistence/webhook.repository.js';
// [/webhooks]
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** A running server and what tests and the CLI need to reach into. */
export interface App {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly apiKeys: ApiKeyService;
  readonly httpServer: Server;
  readonly scheduler: StepScheduler;
  /** This process's worker name: the owner of the leases it takes. */
  readonly workerName: string;
  readonly engine: { readonly executor: StepExecutor; readonly runner: WorkflowRunner; readonly sweeper: Sweeper };
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Extra action types (tests register one to prove the registry is open). */
  readonly registry?: ActionRegistry;
}

/** The composition root: the only place concrete adapters are constructed and wired. */
export async function startApp({ config, logger, registry: givenRegistry }: AppOptions): Promise<App> {
  const database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
  });
  try {
    const registry = givenRegistry ?? new ActionRegistry(builtinActions);
    const workflowStore = new WorkflowRepository(database.db);
    const apiKeyStore = new ApiKeyRepository(database.db);
    const runStore = new RunCommandRepository(database.db, database.sql);
    const runQueries = new RunQueryRepository(database.db);
    // Unique among a deployment's processes: it owns the leases this process takes.
    const workerName = config.WORKER_NAME ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    // One process on the embedded database needs no broker; real Postgres fans out with LISTEN/NOTIFY.
    const bus: EventBus = database.embedded
      ? new InProcessEventBus({ logger })
      : await PostgresEventBus.create({ url: database.url, logger });
    const realtime = new RealtimeService({
      bus,
      feed: new RunFeedRepository(database.liveDb),
      logs: new RunQueryRepository(database.liveDb),
      logger: logger.child({ component: 'realtime' }),
      bufferSize: config.SUBSCRIPTION_BUFFER,
      safetyPollMs: config.REALTIME_POLL_MS,
      minRoundMs: config.REALTIME_ROUND_MS,
    });
    const apiKeys = new ApiKeyService({
      store: apiKeyStore,
      failedAttempts: new FailedKeyAttemptLimiter({ attempts: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_MS }),
      // Every process closes the key's sockets when it hears of it; this one closes its own before
      // the revocation is answered, once the mutations running on them are done.
      onRevoked: async (key) => {
        await realtime.publishKeyRevoked({ workspaceId: key.workspaceId, apiKeyId: key.id });
        await ws?.closeSocketsOfKey(key.id);
      },
    });
    const clientAddress = clientAddressResolver(config.TRUST_PROXY);
    const editing = new WorkflowEditingService({
      onChange: (change) =>
        realtime.publishDraft({
          workspaceId: change.workspaceId,
          workflowId: change.workflowId,
          draftRevision: change.draftRevision,
          change: change.kind,
          label: change.label,
          actorKeyId: change.actorKeyId,
        }),
      store: workflowStore,
      catalog: registry,
      limits: {
        maxConfigBytes: config.MAX_STEP_CONFIG_BYTES,
        maxSteps: config.MAX_STEPS_PER_WORKFLOW,
        historyDepth: config.HISTORY_DEPTH,
        maxEditsPerBatch: config.MAX_EDITS_PER_BATCH,
      },
    });

    const clock = { now: () => new Date() };
    const scheduler = createStepScheduler({
      postgresUrl: database.url,
      mongoUrl: config.MONGODB_URL,
      // LISTEN/NOTIFY does not reach clients of the embedded database; one process needs no broker.
      notifications: database.embedded ? 'in-memory' : 'backend',
      // The embedded database runs every connection in one session: the setting would reach the engine's commits.
      asyncJobCommits: !database.embedded,
      logger: logger.child({ component: 'scheduler' }),
      // A job only lasts until its step is claimed (the step's lease guards it then): its lock
      // covers the wait for its due time (at most a poll) and the claim.
      lockLifetimeMs: config.SCHEDULER_POLL_MS + 1_000,
      processEveryMs: config.SCHEDULER_POLL_MS,
      concurrency: config.WORKER_CONCURRENCY,
      tableName: config.SCHEDULER_TABLE,
      collection: config.SCHEDULER_TABLE,
      instanceName: workerName,
      // Handlers have been drained (or handed back) by then; this bounds the wait for Agenda's last writes.
      stopTimeoutMs: config.SHUTDOWN_GRACE_MS + 10_000,
    });
    const outboundMessages = new OutboundMessageRepository(database.db);
    const messaging = createMessagingProviders({
      store: outboundMessages,
      twilio:
        config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN
          ? {
              accountSid: config.TWILIO_ACCOUNT_SID,
              authToken: config.TWILIO_AUTH_TOKEN,
              smsFrom: config.TWILIO_SMS_FROM,
              whatsappFrom: config.TWILIO_WHATSAPP_FROM,
              baseUrl: config.TWILIO_BASE_URL,
            }
          : undefined,
      meta: config.META_PAGE_ACCESS_TOKEN
        ? {
            pageAccessToken: config.META_PAGE_ACCESS_TOKEN,
            igUserId: config.META_IG_USER_ID,
            baseUrl: config.META_GRAPH_BASE_URL,
            version: config.META_GRAPH_VERSION,
          }
        : undefined,
      timeoutMs: config.MESSAGING_TIMEOUT_MS,
      clock,
    });
    const engineDeps: EngineDeps = {
      runs: runStore,
      versions: new VersionCache({ store: workflowStore, catalog: registry }),
      registry,
      scheduler,
      services: {
        messaging,
        http: new SafeHttpClient({
          allowPrivateNetworks: config.HTTP_ALLOW_PRIVATE_NETWORKS,
          allowedHosts: config.HTTP_ALLOWED_HOSTS,
          maxRedirects: config.HTTP_MAX_REDIRECTS,
          idempotencyHeader: config.HTTP_IDEMPOTENCY_HEADER === 'none' ? null : config.HTTP_IDEMPOTENCY_HEADER,
        }),
        clock,
      },
      clock,
      logger: logger.child({ component: 'engine' }),
      timings: { leaseMs: config.STEP_LEASE_MS, stepTimeoutMs: config.STEP_TIMEOUT_MS },
      workerName,
      onEvents: (events) => realtime.publishRunEvents(events),
      onInstanceFailed: (failed) => failureHandlers.afterFailure(failed),
    };
    const executor = new StepExecutor(engineDeps);
    const runner = new WorkflowRunner({ deps: engineDeps, queries: runQueries, workflows: workflowStore, maxInputBytes: config.MAX_INPUT_BYTES });
    const failureHandlers = new FailureHandlers({ runs: runStore, versions: engineDeps.versions, runner });
    const sweeper = new Sweeper({
      deps: engineDeps,
      sweep: new RunSweepRepository(database.db),
      intervalMs: config.SWEEP_INTERVAL_MS,
      graceMs: config.SWEEP_GRACE_MS,
    });
    const runsWorkers = config.ROLE !== 'api';
    const servesApi = config.ROLE !== 'worker';

    if (config.BOOTSTRAP_API_KEY && servesApi) {
      const made = await apiKeys.bootstrap();
      if (made) {
        // Printed once, on first start of an empty database, so the quick start works.
        logger.warn({ workspaceId: made.workspace.id, keyPrefix: made.key.record.prefix }, `Created workspace '${made.workspace.name}' and its first API key`);
        process.stdout.write(
          `\n  Your API key (shown only once, keep it):\n\n    ${made.key.secret}\n\n` +
            `  Send it as "Authorization: Bearer <key>". Create more with the createApiKey mutation.\n\n`,
        );
      }
    }

    // [webhooks] The public origin is known once the server listens (PORT may be 0).
    let publicBaseUrl = config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`;
    const webhookStore = new WebhookRepository(database.db);
    const webhooks = new WebhookService({ store: webhookStore, workflows: workflowStore, publicBaseUrl: () => publicBaseUrl });
    // [/webhooks]

    const instanceDeps = {
      runner,
      runs: runQueries,
      workflows: workflowStore,
      messages: outboundMessages,
      maxPageSize: config.MAX_PAGE_SIZE,
    };
    const schema = await createSchema([
      new WorkflowResolver({ editing, store: workflowStore, catalog: registry, maxPageSize: config.MAX_PAGE_SIZE }),
      new StepResolver(),
      new WorkflowVersionResolver(),
      new WorkflowRunsResolver(instanceDeps),
      new InstanceResolver(instanceDeps),
      new ActionTypeResolver(registry),
      new ApiKeyResolver({ keys: apiKeys, store: apiKeyStore }),
      new SubscriptionResolver(),
      new WebhookResolver({ webhooks }), // [webhooks]
    ]);
    const live = new SubscriptionSources({ realtime, runs: runQueries, workflows: workflowStore });
    const largeValueSource: LargeValueSource = {
      stepConfigs: (workflowId, stepIds) => workflowStore.readStepConfigs(workflowId, stepIds),
      versionGraph: (workflowId, version) => workflowStore.readVersionGraph(workflowId, version),
      instanceInputs: (ids) => runQueries.readInputs(ids),
    };

    // --- GraphQL hardening (issue 5): limits, introspection, CSRF, masking; shared with graphql-ws ---
    const hardening = createGraphQLHardening(config);
    const newLargeValues = () => new LargeValues(largeValueSource, new ResponseBudget(hardening.maxResponseBytes));
    const formatError = withRequestErrors(createErrorFormatter(logger), { hideSuggestions: !hardening.introspection });
    const app = express();
    const httpServer = createServer(app);
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      formatError,
      ...hardening.apollo,
      // main.ts owns SIGINT/SIGTERM and stops everything in order; Apollo's own handler raced it.
      stopOnTerminationSignals: false,
      // Apollo's default landing page loads from a CDN; the playground below replaces it.
      plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled(), ...hardening.apolloPlugins],
    });
    // --- end GraphQL hardening ---
    await apollo.start();

    app.get('/healthz', async (_req, res) => {
      try {
        await database.sql`select 1`;
        res.json({ status: 'ok' });
      } catch {
        res.status(503).json({ status: 'unavailable' });
      }
    });
    // [webhooks] POST /hooks/:token, GET|POST /inbound/meta, POST /inbound/twilio (raw bodies, own error handler).
    const endpoints = servesApi
      ? createHttpEndpoints({
          webhooks: webhookStore,
          inbound: new InboundMessageRepository(database.db),
          deliveries: new InboundDeliveryRepository(database.db),
          workflows: workflowStore,
          versions: engineDeps.versions,
          catalog: registry,
          runner,
          clock,
          logger: logger.child({ component: 'http-endpoints' }),
          publicBaseUrl: () => publicBaseUrl,
          limits: { maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES, signatureToleranceS: config.WEBHOOK_SIGNATURE_TOLERANCE_S },
          inboundProcessing: { leaseMs: config.INBOUND_LEASE_MS, concurrency: config.INBOUND_CONCURRENCY },
          secrets: {
            metaAppSecret: config.META_APP_SECRET,
            metaVerifyToken: config.META_VERIFY_TOKEN,
            twilioAuthToken: config.TWILIO_AUTH_TOKEN,
            allowUnsigned: config.INBOUND_ALLOW_UNSIGNED,
          },
        })
      : undefined;
    if (endpoints) app.use(endpoints.router);
    // [/webhooks]
    // --- GraphQL playground and body limit (issue 5): browser GETs get the page, errors stay JSON ---
    if (servesApi && isPlaygroundEnabled(config)) {
      app.use('/graphql', createPlaygroundRouter({ logger: logger.child({ component: 'playground' }) }));
    }
    // --- end GraphQL playground ---
    if (servesApi) app.use(
      '/graphql',
      express.json({ limit: hardening.maxBodyBytes }),
      expressMiddleware(apollo, {
        context: async ({ req }) => {
          try {
            return {
              actor: await apiKeys.authenticate(req.headers.authorization, { clientAddress: clientAddress(req) }),
              live,
              largeValues: newLargeValues(),
            };
          } catch (err) {
            if (err instanceof AppError && err.code === ErrorCode.RATE_LIMITED) {
              throw new GraphQLError(err.message, {
                originalError: err,
                extensions: {
                  ...err.details,
                  code: err.code,
                  http: { status: 429, headers: new Map([['retry-after', String(err.details.retryAfter)]]) },
                },
              });
            }
            if (err instanceof AppError) {
              throw new GraphQLError(err.message, {
                extensions: { code: err.code, http: { status: 401 } },
              });
            }
            throw err;
          }
        },
      }),
      graphqlHttpErrorHandler({ logger, maxBodyBytes: hardening.maxBodyBytes }), // issue 5
    );
    // Last: whatever nothing above served, on any role, is a JSON error rather than Express's HTML page.
    app.use(unknownRouteHandler, httpErrorHandler(logger.child({ component: 'http' })));

    const ws = servesApi
      ? startGraphQLWs({
          httpServer,
          path: '/graphql',
          schema,
          apiKeys,
          live,
          logger: logger.child({ component: 'graphql-ws' }),
          formatError,
          authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
          maxSubscriptionsPerSocket: config.MAX_SUBSCRIPTIONS_PER_SOCKET,
          maxSocketsPerKey: config.MAX_SOCKETS_PER_API_KEY,
          // Half the pool at most, so that a flood of new sockets leaves connections to HTTP and the
          // engine; one on the embedded database, which runs one query at a time anyway.
          keyCheckConcurrency: database.embedded ? 1 : Math.max(1, Math.floor(config.DATABASE_POOL_SIZE / 2)),
          // issue 5: the same limits as HTTP
          validationRules: hardening.validationRules,
          parseOptions: hardening.parseOptions,
          maxPayloadBytes: hardening.maxBodyBytes,
          clientAddress,
          keyRecheckMs: config.REALTIME_POLL_MS,
          operationCheck: hardening.operationCheck,
          newLargeValues,
        })
      : undefined;
    const unsubscribeRevocations = realtime.onKeyRevoked((n) => void ws?.closeSocketsOfKey(n.apiKeyId));

    if (runsWorkers) {
      await scheduler.startWorker((stepRunId, job) => executor.execute(stepRunId, job));
      sweeper.start();
    }
    // Deliveries stored and left unprocessed by a process that died are taken up here.
    endpoints?.inbound.start();

    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.PORT, config.HOST, () => resolve());
    });
    const address = httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    publicBaseUrl = config.PUBLIC_BASE_URL ?? `http://localhost:${port}`; // [webhooks]
    const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/graphql`;

    let stopped = false;
    return {
      url,
      port,
      database,
      apiKeys,
      httpServer,
      scheduler,
      workerName,
      engine: { executor, runner, sweeper },
      async stop() {
        if (stopped) return;
        stopped = true;
        const step = async (name: string, fn: () => unknown) => {
          logger.debug({ step: name }, 'stopping');
          await fn();
        };
        unsubscribeRevocations();
        await step('websocket', () => ws?.close());
        await step('graphql', () => apollo.stop());
        await step('inbound', () => endpoints?.inbound.stop());
        await step('sweep', () => sweeper.stop());
        if (runsWorkers) {
          // Graceful drain: take no more steps, give the running ones the grace, hand back the rest.
          await step('worker', () => scheduler.stopWorker());
          await step('drain', async () => {
            const drained = await executor.drain(config.SHUTDOWN_GRACE_MS);
            if (drained.handedBack > 0) logger.warn(drained, 'handed back steps that did not finish within the shutdown grace');
          });
        }
        await step('scheduler', () => scheduler.stop());
        await step('realtime', () => realtime.close());
        await step('bus', () => bus.close());
        await step('database', () => database.close());
        logger.debug('stopped');
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
