import { Router } from 'express';
import type { Logger } from 'pino';
import type { TriggerCatalog } from '../actions/trigger-start.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { VersionCache } from '../engine/version-cache.js';
import type { EventWaits } from '../engine/event-waits.js';
import type { MessageWaits } from '../engine/message-waits.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type { Clock } from '../ports/clock.port.js';
import type { EventSigningStore } from '../ports/event-signing.store.port.js';
import type { InboundDeliveryStore } from '../ports/inbound-delivery.store.port.js';
import type { InboundMessageStore } from '../ports/inbound-message.store.port.js';
import type { SeenSignatureStore } from '../ports/seen-signature.store.port.js';
import type { WebhookStore } from '../ports/webhook.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { createEventsRouter, type EventsRouterOptions } from './events.router.js';
import { httpErrorHandler } from './http-error.js';
import { InboundDeliveryProcessor } from './inbound-delivery.processor.js';
import { InboundDispatcher } from './inbound-dispatcher.js';
import { createInboundRouter } from './inbound.router.js';
import { RawBodyReader } from './request-body.js';
import { createWebhookRouter } from './webhook.router.js';

/** What the webhook and inbound endpoints need; the composition root builds it. */
export interface HttpEndpointsOptions {
  readonly webhooks: WebhookStore;
  readonly inbound: InboundMessageStore;
  readonly deliveries: InboundDeliveryStore;
  readonly workflows: WorkflowStore;
  readonly versions: VersionCache;
  /** The action registry: tells triggers apart, and how each trigger type is started. */
  readonly catalog: StepTypeCatalog & TriggerCatalog;
  readonly runner: WorkflowRunner;
  /** The steps waiting for inbound messages. */
  readonly messageWaits: MessageWaits;
  /** Events for the steps waiting for them (POST /events). */
  readonly events: Pick<EventWaits, 'send'>;
  /** API-key authentication, as GraphQL's (POST /events). */
  readonly authenticate: EventsRouterOptions['authenticate'];
  /** The workspaces' event signing secrets, and the signed events accepted (POST /events/:workspaceId). */
  readonly eventSigning: { readonly secrets: Pick<EventSigningStore, 'secretOf'>; readonly seen: SeenSignatureStore };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly publicBaseUrl: () => string;
  /** The signature tolerance applies to webhooks and signed events alike. */
  readonly limits: { readonly maxBodyBytes: number; readonly signatureToleranceS: number };
  /** Claims on stored inbound deliveries, and messages of one delivery handled at once. */
  readonly inboundProcessing: { readonly leaseMs: number; readonly concurrency: number };
  readonly secrets: {
    readonly metaAppSecret: string | undefined;
    readonly metaVerifyToken: string | undefined;
    readonly twilioAuthToken: string | undefined;
    readonly allowUnsigned: boolean;
  };
}

/** The endpoints' router and the background processing of the inbound deliveries they store. */
export interface HttpEndpoints {
  /** Mount at the root, outside any body parser: the endpoints read raw bytes. */
  readonly router: Router;
  /** Start it where the endpoints are served; stop it before the database closes. */
  readonly inbound: InboundDeliveryProcessor;
}

/**
 * `POST /hooks/:token`, `GET|POST /inbound/meta`, `POST /inbound/twilio`, `POST /events` and
 * `POST /events/:workspaceId`, with their JSON error handler.
 */
export function createHttpEndpoints(options: HttpEndpointsOptions): HttpEndpoints {
  const { logger } = options;
  const body = new RawBodyReader(options.limits.maxBodyBytes);
  const dispatcher = new InboundDispatcher({
    store: options.inbound,
    workflows: options.workflows,
    catalog: options.catalog,
    runner: options.runner,
    waits: options.messageWaits,
    logger,
  });
  const inbound = new InboundDeliveryProcessor({
    store: options.deliveries,
    dispatcher,
    leaseMs: options.inboundProcessing.leaseMs,
    concurrency: options.inboundProcessing.concurrency,
    logger: logger.child({ part: 'inbound-deliveries' }),
  });
  const router = Router();
  router.use(
    createWebhookRouter({
      webhooks: options.webhooks,
      workflows: options.workflows,
      versions: options.versions,
      triggers: options.catalog,
      runner: options.runner,
      clock: options.clock,
      body,
      signatureToleranceS: options.limits.signatureToleranceS,
      logger,
    }),
  );
  router.use(
    createInboundRouter({
      deliveries: inbound,
      body,
      clock: options.clock,
      publicBaseUrl: options.publicBaseUrl,
      meta: { appSecret: options.secrets.metaAppSecret, verifyToken: options.secrets.metaVerifyToken },
      twilio: { authToken: options.secrets.twilioAuthToken },
      allowUnsigned: options.secrets.allowUnsigned,
      logger,
    }),
  );
  router.use(
    createEventsRouter({
      events: options.events,
      authenticate: options.authenticate,
      body,
      signing: {
        secrets: options.eventSigning.secrets,
        seen: options.eventSigning.seen,
        clock: options.clock,
        toleranceS: options.limits.signatureToleranceS,
      },
      logger,
    }),
  );
  router.use(httpErrorHandler(logger));
  return { router, inbound };
}
