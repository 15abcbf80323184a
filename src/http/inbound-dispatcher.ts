import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { TriggerCatalog } from '../actions/trigger-start.js';
import { AppError } from '../domain/errors.js';
import { MAX_IDEMPOTENCY_KEY_CHARS, type IdempotencyClaim } from '../domain/idempotency.js';
import type { StepTypeCatalog } from '../domain/step-type-catalog.js';
import type { MessageWaits } from '../engine/message-waits.js';
import type { WorkflowRunner } from '../engine/workflow-runner.js';
import type {
  InboundChannel,
  InboundMessageStore,
  MessageTriggeredWorkflow,
  TriggerIndexEntry,
} from '../ports/inbound-message.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { incomingMessageInput, type InboundMessage } from './inbound-message.js';

/** Versions read per batch when indexing triggers, to bound memory after a deploy. */
const INDEX_BATCH = 100;
/** Messages matched against the triggers between two turns of the event loop. */
const MATCHES_PER_TURN = 250;
/** Messages that start nothing are recorded this many per insert. */
const RECORD_BATCH = 100;

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
  /** Tells trigger steps from the others, as the engine does, and which trigger types messages start. */
  readonly catalog: StepTypeCatalog & TriggerCatalog;
  readonly runner: Pick<WorkflowRunner, 'start'>;
  /** The steps waiting for messages; unset, messages only start workflows. */
  readonly waits?: Pick<MessageWaits, 'contactsWaiting' | 'deliver'>;
  readonly logger: Logger;
}

export interface DispatchOptions {
  /** Messages handled at once. */
  readonly concurrency: number;
  /** Asked before each message is started: true leaves the rest undone (`complete: false`). */
  readonly shouldStop?: () => boolean;
}

/** What dispatching a delivery's messages did. */
export interface DispatchOutcome {
  /** Messages handled. */
  readonly messages: number;
  /** Messages an earlier delivery had already handled. */
  readonly duplicates: number;
  /** Ids of the instances started, in no particular order. */
  readonly startedInstanceIds: readonly string[];
  /** Ids of the waiting instances the messages resumed, in no particular order. */
  readonly resumedInstanceIds: readonly string[];
  /** False when it stopped before handling every message. */
  readonly complete: boolean;
}

/** A workflow a message may start, its trigger config parsed once per dispatch. */
interface Candidate {
  readonly workflow: MessageTriggeredWorkflow;
  readonly matches: (message: InboundMessage) => boolean;
}

/**
 * Starts, for each inbound message, every active workflow in every workspace whose newest
 * published version has a trigger started by inbound messages (`start.kind: 'inbound'` in its
 * declaration) on the message's channel that matches it. Each message is recorded by its provider id first: a redelivery of a message fully
 * handled starts nothing, and one that was cut short (a crash, a failed start) starts only the
 * workflows not started yet, since each start uses the message's idempotency key.
 */
export class InboundDispatcher {
  constructor(private readonly options: InboundDispatcherOptions) {}

  async dispatch(messages: readonly InboundMessage[], options: DispatchOptions): Promise<DispatchOutcome> {
    if (messages.length === 0) return { messages: 0, duplicates: 0, startedInstanceIds: [], resumedInstanceIds: [], complete: true };
    // Independent reads, at once: a reply's answer waits for the slowest, not for their sum. A
    // delivery of one message (Twilio's) records it meanwhile too.
    const early = messages.length === 1 ? this.record(messages[0]!) : undefined;
    // Awaited below on every path but a failed read, whose error is the one that counts.
    early?.catch(() => undefined);
    const channels = new Set(messages.map((m) => m.channel));
    const [candidates, awaited] = await Promise.all([
      this.refreshTriggerIndex().then(() => this.candidatesByChannel(channels)),
      this.awaitedSenders(messages),
    ]);
    // Matching is pure and cheap; only messages that start or resume something take a round trip each.
    const matched: { message: InboundMessage; starts: readonly Candidate[]; awaited: boolean }[] = [];
    const unmatched: InboundMessage[] = [];
    for (const [i, message] of messages.entries()) {
      // Conditions run on every message of a delivery that may hold thousands: a turn now and then.
      if (i > 0 && i % MATCHES_PER_TURN === 0) await yieldToEventLoop();
      const starts = (candidates.get(message.channel) ?? []).filter((c) => c.matches(message));
      const isAwaited = awaited.get(message.channel)?.has(message.from) ?? false;
      if (starts.length > 0 || isAwaited) matched.push({ message, starts, awaited: isAwaited });
      else unmatched.push(message);
    }
    if (early) {
      // Recorded already: a message that starts nothing is only marked processed.
      const { record } = await early;
      if (unmatched.length === 1 && record.processedAt === null) await this.options.store.markProcessed(record.id, 0);
    } else {
      for (let i = 0; i < unmatched.length; i += RECORD_BATCH) {
        await this.options.store.recordHandled(unmatched.slice(i, i + RECORD_BATCH));
      }
    }

    let duplicates = 0;
    let handled = unmatched.length;
    const startedInstanceIds: string[] = [];
    const resumedInstanceIds: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < matched.length && !options.shouldStop?.()) {
        const { message, starts, awaited: isAwaited } = matched[next++]!;
        const outcome = await this.handle(message, starts, isAwaited, early);
        if (outcome.duplicate) duplicates++;
        startedInstanceIds.push(...outcome.started);
        resumedInstanceIds.push(...outcome.resumed);
        handled++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, matched.length)) }, lane));
    return { messages: handled, duplicates, startedInstanceIds, resumedInstanceIds, complete: handled === messages.length };
  }

  /**
   * Records one message; unless an earlier delivery handled it, resumes the steps waiting for it,
   * then starts the workflows it matches but those of the workspaces whose wait kept it.
   */
  private async handle(
    message: InboundMessage,
    starts: readonly Candidate[],
    awaited: boolean,
    recorded?: ReturnType<InboundMessageStore['record']>,
  ): Promise<{ duplicate: boolean; started: string[]; resumed: readonly string[] }> {
    const { store, waits } = this.options;
    const { record } = await (recorded ?? this.record(message));
    if (record.processedAt !== null) return { duplicate: true, started: [], resumed: [] };
    // The first delivery's time, so every delivery builds the same input.
    const first = { ...message, receivedAt: record.receivedAt };
    const delivery =
      awaited && waits
        ? await waits.deliver({ channel: first.channel, from: first.from, output: incomingMessageInput(first).message, receivedAt: first.receivedAt })
        : undefined;
    const allowed = delivery ? starts.filter((c) => !delivery.keptBy.has(c.workflow.workspaceId)) : starts;
    // The resumed steps' jobs are enqueued while the message is recorded as processed.
    const [started] = await Promise.all([
      this.startAll(first, allowed).then(async (ids) => {
        await store.markProcessed(record.id, ids.length);
        return ids;
      }),
      delivery?.scheduled,
    ]);
    return { duplicate: false, started, resumed: delivery?.resumedInstanceIds ?? [] };
  }

  private record(message: InboundMessage): ReturnType<InboundMessageStore['record']> {
    return this.options.store.record({
      provider: message.provider,
      providerMessageId: message.providerMessageId,
      channel: message.channel,
      receivedAt: message.receivedAt,
    });
  }

  /** By channel, the senders of these messages some step waits for. */
  private async awaitedSenders(messages: readonly InboundMessage[]): Promise<Map<string, ReadonlySet<string>>> {
    const awaited = new Map<string, ReadonlySet<string>>();
    const { waits } = this.options;
    if (!waits) return awaited;
    await Promise.all(
      [...new Set(messages.map((m) => m.channel))].map(async (channel) => {
        const senders = messages.filter((m) => m.channel === channel).map((m) => m.from);
        awaited.set(channel, await waits.contactsWaiting(channel, senders));
      }),
    );
    return awaited;
  }

  /** Starts the matching workflows; a start the workflow refuses (archived meanwhile...) is skipped. */
  private async startAll(message: InboundMessage, starts: readonly Candidate[]): Promise<string[]> {
    const { runner, logger } = this.options;
    const input = incomingMessageInput(message);
    const idempotency = inboundIdempotency(message);
    const started: string[] = [];
    for (const { workflow } of starts) {
      try {
        const { instance, created } = await runner.start(
          { workspaceId: workflow.workspaceId },
          { workflowId: workflow.workflowId, input, idempotency },
        );
        if (created) started.push(instance.id);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        logger.warn(
          { workflowId: workflow.workflowId, code: err.code, reason: err.message, provider: message.provider },
          'inbound message did not start a matching workflow',
        );
      }
    }
    return started;
  }

  private async candidatesByChannel(channels: ReadonlySet<InboundChannel>): Promise<Map<InboundChannel, Candidate[]>> {
    const byChannel = new Map<InboundChannel, Candidate[]>();
    const triggers = this.options.catalog.inboundTriggers();
    await Promise.all(
      [...channels].map(async (channel) => {
        const found = await Promise.all(triggers.map((trigger) => this.options.store.findMessageTriggered(trigger.type, channel)));
        const candidates: Candidate[] = [];
        triggers.forEach((trigger, i) => {
          for (const workflow of found[i]!) {
            const matches = trigger.start.matcher(workflow.config);
            if (matches) candidates.push({ workflow, matches });
          }
        });
        byChannel.set(channel, candidates);
      }),
    );
    return byChannel;
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
        const start = trigger ? catalog.startOf(trigger.type) : undefined;
        const channel = trigger && start?.kind === 'inbound' ? (start.channel(trigger.config) ?? null) : null;
        entries.push({ ...s, triggerType: trigger?.type ?? null, channel, config: trigger?.config ?? null });
      }
      await store.saveTriggers(entries);
    }
  }
}
