import { Router } from 'express';
import type { Logger } from 'pino';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { VersionCache } from '../engine/version-cache.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type { Clock } from '../ports/clock.port.js';
import type { InboundMessageStore } from '../ports/inbound-message.store.port.js';
import type { WebhookStore } from '../ports/webhook.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { httpErrorHandler } from './http-error.js';
import { InboundDispatcher } from './inbound-dispatcher.js';
import { createInboundRouter } from './inbound.router.js';
import { RawBodyReader } from './request-body.js';
import { createWebhookRouter } from './webhook.router.js';

/** What the webhook and inbound endpoints need; the composition root builds it. */
export interface HttpEndpointsOptions {
  readonly webhooks: WebhookStore;
  readonly inbound: InboundMessageStore;
  readonly workflows: WorkflowStore;
  readonly versions: VersionCache;
  readonly catalog: StepTypeCatalog;
  readonly runner: WorkflowRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly publicBaseUrl: () => string;
  readonly limits: { readonly maxBodyBytes: number; readonly signatureToleranceS: number };
  readonly secrets: {
    readonly metaAppSecret: string | undefined;
    readonly metaVerifyToken: string | undefined;
    readonly twilioAuthToken: string | undefined;
    readonly allowUnsigned: boolean;
  };
}

/**
 * `POST /hooks/:token`, `GET|POST /inbound/meta` and `POST /inbound/twilio`, with their JSON
 * error handler. Mount at the root, outside any body parser: the endpoints read raw bytes.
 */
export function createHttpEndpoints(options: HttpEndpointsOptions): Router {
  const { logger } = options;
  const body = new RawBodyReader(options.limits.maxBodyBytes);
  const dispatcher = new InboundDispatcher({
    store: options.inbound,
    workflows: options.workflows,
    catalog: options.catalog,
    runner: options.runner,
    logger,
  });
  const router = Router();
  router.use(
    createWebhookRouter({
      webhooks: options.webhooks,
      workflows: options.workflows,
      versions: options.versions,
      runner: options.runner,
      clock: options.clock,
      body,
      signatureToleranceS: options.limits.signatureToleranceS,
      logger,
    }),
  );
  router.use(
    createInboundRouter({
      dispatcher,
      body,
      clock: options.clock,
      publicBaseUrl: options.publicBaseUrl,
      meta: { appSecret: options.secrets.metaAppSecret, verifyToken: options.secrets.metaVerifyToken },
      twilio: { authToken: options.secrets.twilioAuthToken },
      allowUnsigned: options.secrets.allowUnsigned,
      logger,
    }),
  );
  router.use(httpErrorHandler(logger));
  return router;
}
