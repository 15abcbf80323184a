import { createServer, type IncomingMessage, type Server } from 'node:http';
import express, { type Express } from 'express';
import type { ActionRegistry } from '../actions/action-registry.js';
import { createHealthzRouter } from '../http/healthz.router.js';
import { createHttpEndpoints } from '../http/http-endpoints.js';
import { httpErrorHandler, unknownRouteHandler } from '../http/http-error.js';
import type { InboundDeliveryProcessor } from '../http/inbound-delivery.processor.js';
import { createPlaygroundRouter } from '../http/playground/index.js';
import { inboundSecrets } from '../providers/vendors.js';
import type { Config } from './config.js';
import type { Engine } from './engine.wiring.js';
import type { GraphQLApi } from './graphql.wiring.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage.wiring.js';

/** Whether the playground is served: `GRAPHQL_PLAYGROUND`, or unset, everywhere but production. */
export const playgroundEnabled = (config: Pick<Config, 'GRAPHQL_PLAYGROUND' | 'NODE_ENV'>): boolean =>
  config.GRAPHQL_PLAYGROUND ?? config.NODE_ENV !== 'production';

/** The Express app and the HTTP server it answers on (GraphQL's WebSocket shares the server). */
export function createHttpServer(): { readonly app: Express; readonly server: Server } {
  const app = express();
  return { app, server: createServer(app) };
}

export interface HttpWiringOptions {
  readonly app: Express;
  readonly config: Config;
  readonly storage: Storage;
  readonly engine: Engine;
  readonly registry: ActionRegistry;
  /** The GraphQL API, on processes that serve it (not on workers). */
  readonly graphql: GraphQLApi | undefined;
  readonly publicBaseUrl: () => string;
  /** API-key authentication for the HTTP endpoints that take keys (POST /events), as GraphQL's. */
  readonly authenticate: (authorization: string | undefined, request: IncomingMessage) => Promise<{ readonly workspaceId: string }>;
  readonly logger: Logger;
}

/**
 * The routes, in the order they are tried: `/healthz`; where the API is served, the webhook and
 * inbound endpoints (raw bodies, their own error handler), the playground and GraphQL at
 * `/graphql`; last, a JSON error for whatever nothing above served. Returns the processing of
 * stored inbound deliveries, where there is one.
 */
export function wireHttp(options: HttpWiringOptions): { readonly inbound: InboundDeliveryProcessor | undefined } {
  const { app, config, storage, engine, graphql, logger } = options;
  app.use(createHealthzRouter({ ping: () => storage.ping() }));
  let inbound: InboundDeliveryProcessor | undefined;
  if (graphql) {
    const endpoints = createHttpEndpoints({
      webhooks: storage.webhooks,
      inbound: storage.inboundMessages,
      deliveries: storage.inboundDeliveries,
      workflows: storage.workflows,
      versions: engine.versions,
      catalog: options.registry,
      runner: engine.runner,
      messageWaits: engine.messages,
      events: engine.events,
      authenticate: options.authenticate,
      eventSigning: { secrets: storage.eventSigning, seen: storage.seenSignatures },
      clock: engine.clock,
      logger: logger.child({ component: 'http-endpoints' }),
      publicBaseUrl: options.publicBaseUrl,
      limits: { maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES, signatureToleranceS: config.WEBHOOK_SIGNATURE_TOLERANCE_S },
      inboundProcessing: { leaseMs: config.INBOUND_LEASE_MS, concurrency: config.INBOUND_CONCURRENCY },
      secrets: { ...inboundSecrets(config.messaging), allowUnsigned: config.INBOUND_ALLOW_UNSIGNED },
    });
    app.use(endpoints.router);
    inbound = endpoints.inbound;
    // Browser navigations get the page; every other request falls through to GraphQL.
    if (playgroundEnabled(config)) app.use('/graphql', createPlaygroundRouter({ logger: logger.child({ component: 'playground' }) }));
    app.use('/graphql', graphql.router);
  }
  app.use(unknownRouteHandler, httpErrorHandler(logger.child({ component: 'http' })));
  return { inbound };
}

/** Listens on HOST:PORT; resolves with the port (PORT may be 0). */
export async function listen(server: Server, config: Pick<Config, 'PORT' | 'HOST'>): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : config.PORT;
}
