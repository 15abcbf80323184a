import type { ActionRegistry } from '../actions/action-registry.js';
import type { ApiKeyRecord } from '../ports/api-key.store.port.js';
import type { Clock } from '../ports/clock.port.js';
import type { LiveStreams } from '../ports/live-streams.port.js';
import { ApiKeyService } from '../services/api-key.service.js';
import { EventSigningService } from '../services/event-signing.service.js';
import { FailedKeyAttemptLimiter } from '../services/failed-key-attempts.limiter.js';
import { WebhookService } from '../services/webhook.service.js';
import { WorkflowDeletionService } from '../services/workflow-deletion.service.js';
import { WorkflowEditingService, type DraftListener } from '../services/workflow-editing.service.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type { RealtimeService } from '../realtime/realtime.service.js';
import type { Config } from './config.js';
import type { Storage } from './storage.wiring.js';

/** The application services the API serves. */
export interface Services {
  readonly apiKeys: ApiKeyService;
  readonly editing: WorkflowEditingService;
  readonly deletion: WorkflowDeletionService;
  readonly webhooks: WebhookService;
  readonly eventSigning: EventSigningService;
  /** The live streams subscriptions read. */
  readonly live: LiveStreams;
}

export interface ApiKeyServiceWiring {
  readonly storage: Pick<Storage, 'apiKeys'>;
  /** Failed key attempts are throttled when given (a server); an operator command has none. */
  readonly config?: Pick<Config, 'AUTH_FAILURE_LIMIT' | 'AUTH_FAILURE_WINDOW_MS'>;
  readonly onRevoked?: (key: ApiKeyRecord) => Promise<void>;
}

/** API keys, for the server and for the CLI alike. */
export function createApiKeyService({ storage, config, onRevoked }: ApiKeyServiceWiring): ApiKeyService {
  return new ApiKeyService({
    store: storage.apiKeys,
    failedAttempts: config && new FailedKeyAttemptLimiter({ attempts: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW_MS }),
    onRevoked,
  });
}

export interface ServicesWiringOptions {
  readonly config: Pick<
    Config,
    | 'AUTH_FAILURE_LIMIT'
    | 'AUTH_FAILURE_WINDOW_MS'
    | 'MAX_STEP_CONFIG_BYTES'
    | 'MAX_STEPS_PER_WORKFLOW'
    | 'HISTORY_DEPTH'
    | 'MAX_EDITS_PER_BATCH'
    | 'SCHEDULE_MIN_INTERVAL_MS'
  >;
  readonly storage: Storage;
  readonly registry: ActionRegistry;
  readonly realtime: RealtimeService;
  /** The origin webhook URLs are made with; known once the server listens. */
  readonly publicBaseUrl: () => string;
  /** Closes this process's sockets of a revoked key (the GraphQL wiring's). */
  readonly closeSocketsOfKey: (apiKeyId: string) => Promise<void>;
  /** When a publish is, for its schedule's first tick (tests fix it); default the system clock. */
  readonly scheduleClock?: Clock;
  /** The engine's cancel of an instance in progress, for deleting a workflow with `force`. */
  readonly runner: Pick<WorkflowRunner, 'cancel'>;
}

export function wireServices({ config, storage, registry, realtime, publicBaseUrl, closeSocketsOfKey, scheduleClock, runner }: ServicesWiringOptions): Services {
  const apiKeys = createApiKeyService({
    storage,
    config,
    // Every process closes the key's sockets when it hears of it; this one closes its own before
    // the revocation is answered, once the mutations running on them are done.
    onRevoked: async (key) => {
      await realtime.publishKeyRevoked({ workspaceId: key.workspaceId, apiKeyId: key.id });
      await closeSocketsOfKey(key.id);
    },
  });
  const onChange: DraftListener = (change) =>
    realtime.publishDraft({
      workspaceId: change.workspaceId,
      workflowId: change.workflowId,
      draftRevision: change.draftRevision,
      change: change.kind,
      label: change.label,
      actorKeyId: change.actorKeyId,
    });
  const editing = new WorkflowEditingService({
    onChange,
    store: storage.workflows,
    catalog: registry,
    clock: scheduleClock,
    limits: {
      maxConfigBytes: config.MAX_STEP_CONFIG_BYTES,
      maxSteps: config.MAX_STEPS_PER_WORKFLOW,
      historyDepth: config.HISTORY_DEPTH,
      maxEditsPerBatch: config.MAX_EDITS_PER_BATCH,
      schedules: { minIntervalMs: config.SCHEDULE_MIN_INTERVAL_MS },
    },
  });
  const deletion = new WorkflowDeletionService({
    store: storage.workflows,
    runs: storage.runQueries,
    cancelInstance: (actor, instanceId) => runner.cancel(actor, instanceId),
    onChange,
  });
  const webhooks = new WebhookService({ store: storage.webhooks, workflows: storage.workflows, publicBaseUrl });
  const eventSigning = new EventSigningService({ store: storage.eventSigning, publicBaseUrl });
  return { apiKeys, editing, deletion, webhooks, eventSigning, live: realtime };
}
