import type { JsonObject } from '../domain/json.js';

/** Who delivered an inbound message: the provider whose message ids dedupe it. */
export const INBOUND_PROVIDERS = ['meta', 'twilio'] as const;
export type InboundProvider = (typeof INBOUND_PROVIDERS)[number];

/** The channels the inbound endpoints receive messages on. */
export const INBOUND_CHANNELS = ['instagram', 'whatsapp', 'sms'] as const;
export type InboundChannel = (typeof INBOUND_CHANNELS)[number];

/** The dedupe record of one received message. */
export interface InboundMessageRecord {
  readonly id: string;
  readonly provider: InboundProvider;
  readonly providerMessageId: string;
  readonly channel: InboundChannel;
  /** When the first delivery arrived. */
  readonly receivedAt: Date;
  /** Set once every matching workflow was started. */
  readonly processedAt: Date | null;
}

/** A workflow whose newest published version is stale or missing in the trigger index. */
export interface StaleTrigger {
  readonly workflowId: string;
  readonly workspaceId: string;
  readonly version: number;
}

/** The trigger of one workflow version, as the trigger index keeps it. */
export interface TriggerIndexEntry extends StaleTrigger {
  /** Null when the version has no trigger step. */
  readonly triggerType: string | null;
  /** The channel whose messages may start it (see `TriggerStartSpec`); null for triggers not started by messages. */
  readonly channel: InboundChannel | null;
  readonly config: JsonObject | null;
}

/** An active workflow whose newest version is triggered by a message on a channel. */
export interface MessageTriggeredWorkflow {
  readonly workflowId: string;
  readonly workspaceId: string;
  readonly version: number;
  readonly config: JsonObject;
}

/**
 * Received inbound messages (for dedupe) and the index of the triggers of published workflows
 * that finds the workflows a message starts. Deployment-wide: nothing here is workspace-scoped.
 */
export interface InboundMessageStore {
  /**
   * Records a message, or returns the record of an earlier delivery of the same provider message
   * id (with the first delivery's `receivedAt`); `created` tells which.
   */
  record(input: {
    readonly provider: InboundProvider;
    readonly providerMessageId: string;
    readonly channel: InboundChannel;
    readonly receivedAt: Date;
  }): Promise<{ record: InboundMessageRecord; created: boolean }>;
  markProcessed(id: string, startedCount: number): Promise<void>;
  /**
   * Records messages that start nothing, already processed, in one insert; a message recorded
   * before is left as it is.
   */
  recordHandled(
    messages: readonly {
      readonly provider: InboundProvider;
      readonly providerMessageId: string;
      readonly channel: InboundChannel;
      readonly receivedAt: Date;
    }[],
  ): Promise<void>;
  /** Active workflows whose newest published version the trigger index does not hold yet. */
  staleTriggers(): Promise<StaleTrigger[]>;
  /** Writes index entries; an entry never replaces one of a newer version. */
  saveTriggers(entries: readonly TriggerIndexEntry[]): Promise<void>;
  /** Active workflows, in every workspace, whose indexed newest version has this trigger type and channel. */
  findMessageTriggered(triggerType: string, channel: InboundChannel): Promise<MessageTriggeredWorkflow[]>;
}
