import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  incomingMessageConfigSchema,
  matchesIncomingMessage,
  triggerIncomingMessageAction,
} from '../actions/trigger-incoming-message.action.js';
import { AppError } from '../domain/errors.js';
import { MAX_IDEMPOTENCY_KEY_CHARS, type IdempotencyClaim } from '../domain/idempotency.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type { InboundMessageStore, TriggerIndexEntry } from '../ports/inbound-message.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { incomingMessageInput, type InboundMessage } from './inbound-message.js';

/** Versions read per batch when indexing triggers, to bound memory after a deploy. */
const INDEX_BATCH = 100;

/**
 * The per-workflow idempotency key of a message, in its provider's namespace: the provider's
 * message id, or `sha256:<hex>` of it when long. The length that decides is that of
 * `inbound:<provider>:<id>` within the runner's limit: keys stored before sources were apart had that
 * form, and their migrated keys must stay what a redelivery of the same message computes.
 */
export function inboundIdempotency(m: Pick<InboundMessage, 'provider' | 'providerMessageId'>): IdempotencyClaim {
  const long = `inbound:${m.provider}:${m.providerMessageId}`.length > MAX_IDEMPOTENCY_KEY_CHARS;
  const key = long ? `sha256:${createHash('sha256').update(m.providerMessageId).digest('hex')}` : m.providerMessageId;
  return { source: m.provider, key };
}

export interface InboundDispatcherOptions {
  readonly store: InboundMessageStore;
  /** Where published versions are read from to index their triggers. */
  readonly workflows: Pick<WorkflowStore, 'getVersion'>;
  /** Tells trigger steps from the others, as the engine does. */
  readonly catalog: StepTypeCatalog;
  readonly runner: Pick<WorkflowRunner, 'start'>;
  readonly logger: Logger;
}

/** What one delivery did. */
export interface DispatchOutcome {
  readonly messages: number;
  /** Messages an earlier delivery had already handled. */
  readonly duplicates: number;
  /** Instances started. */
  readonly started: number;
}

/**
 * Starts, for each inbound message, every active workflow in every workspace whose newest
 * published version has an incoming-message trigger on the message's channel whose keyword
 * matches. Each message is recorded by its provider id first: a redelivery of a message fully
 * handled starts nothing, and one that was cut short (a crash, a failed start) starts only the
 * workflows not started yet, since each start uses the message's idempotency key.
 */
export class InboundDispatcher {
  constructor(private readonly options: InboundDispatcherOptions) {}

  async dispatch(messages: readonly InboundMessage[]): Promise<DispatchOutcome> {
    if (messages.length === 0) return { messages: 0, duplicates: 0, started: 0 };
    await this.refreshTriggerIndex();
    let duplicates = 0;
    let started = 0;
    for (const message of messages) {
      const { record } = await this.options.store.record({
        provider: message.provider,
        providerMessageId: message.providerMessageId,
        channel: message.channel,
        receivedAt: message.receivedAt,
      });
      if (record.processedAt !== null) {
        duplicates++;
        continue;
      }
      // The first delivery's time, so every delivery builds the same input.
      const n = await this.startMatching({ ...message, receivedAt: record.receivedAt });
      await this.options.store.markProcessed(record.id, n);
      started += n;
    }
    return { messages: messages.length, duplicates, started };
  }

  /** Starts the matching workflows; a start the workflow refuses (archived meanwhile...) is skipped. */
  private async startMatching(message: InboundMessage): Promise<number> {
    const { store, runner, logger } = this.options;
    const candidates = await store.findMessageTriggered(triggerIncomingMessageAction.type, message.channel);
    const input = incomingMessageInput(message);
    const idempotency = inboundIdempotency(message);
    let started = 0;
    for (const candidate of candidates) {
      const config = incomingMessageConfigSchema.safeParse(candidate.config);
      if (!config.success || !matchesIncomingMessage(config.data, message.text)) continue;
      try {
        const { created } = await runner.start(
          { workspaceId: candidate.workspaceId },
          { workflowId: candidate.workflowId, input, idempotency },
        );
        if (created) started++;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        logger.warn(
          { workflowId: candidate.workflowId, code: err.code, reason: err.message, provider: message.provider },
          'inbound message did not start a matching workflow',
        );
      }
    }
    return started;
  }

  /**
   * Indexes the trigger of every newly published version. Each version is read once, ever; the
   * version cache of the engine is bypassed so a first indexing does not evict what it runs.
   */
  private async refreshTriggerIndex(): Promise<void> {
    const { store, workflows, catalog } = this.options;
    const stale = await store.staleTriggers();
    for (let i = 0; i < stale.length; i += INDEX_BATCH) {
      const entries: TriggerIndexEntry[] = [];
      for (const s of stale.slice(i, i + INDEX_BATCH)) {
        const record = await workflows.getVersion(s.workflowId, s.version);
        if (!record) continue;
        const trigger = record.graph.steps.find((step) => catalog.get(step.type)?.category === 'trigger');
        entries.push({ ...s, triggerType: trigger?.type ?? null, config: trigger?.config ?? null });
      }
      await store.saveTriggers(entries);
    }
  }
}
