import { and, eq, isNotNull, isNull, ne, or, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type {
  InboundMessageRecord,
  InboundMessageStore,
  InboundProvider,
  MessageTriggeredWorkflow,
  StaleTrigger,
  TriggerIndexEntry,
} from '../ports/inbound-message.store.port.js';
import type { InboundChannel } from '../ports/inbound-message.store.port.js';
import { isJsonObject } from '../domain/json.js';
import type { Db } from './database.js';
import { inboundMessages, type InboundMessageRow } from './tables/inbound-message.table.js';
import { workflowTriggers } from './tables/workflow-trigger.table.js';
import { workflows } from './tables/workflow.table.js';

const toRecord = (r: InboundMessageRow): InboundMessageRecord => ({
  id: r.id,
  provider: r.provider,
  providerMessageId: r.providerMessageId,
  channel: r.channel,
  receivedAt: r.receivedAt,
  processedAt: r.processedAt,
});

/** Drizzle implementation of the inbound message store and the trigger index. */
export class InboundMessageRepository implements InboundMessageStore {
  constructor(private readonly db: Db) {}

  async record(input: {
    provider: InboundProvider;
    providerMessageId: string;
    channel: InboundChannel;
    receivedAt: Date;
  }): Promise<{ record: InboundMessageRecord; created: boolean }> {
    const [inserted] = await this.db
      .insert(inboundMessages)
      .values({ id: randomUUID(), ...input })
      .onConflictDoNothing({ target: [inboundMessages.provider, inboundMessages.providerMessageId] })
      .returning();
    if (inserted) return { record: toRecord(inserted), created: true };
    const [existing] = await this.db
      .select()
      .from(inboundMessages)
      .where(
        and(eq(inboundMessages.provider, input.provider), eq(inboundMessages.providerMessageId, input.providerMessageId)),
      );
    if (!existing) throw new Error('inbound message insert conflicted but no row holds its provider message id');
    return { record: toRecord(existing), created: false };
  }

  async markProcessed(id: string, startedCount: number): Promise<void> {
    await this.db
      .update(inboundMessages)
      .set({ processedAt: sql`coalesce(${inboundMessages.processedAt}, now())`, startedCount })
      .where(eq(inboundMessages.id, id));
  }

  async recordHandled(
    messages: readonly { provider: InboundProvider; providerMessageId: string; channel: InboundChannel; receivedAt: Date }[],
  ): Promise<void> {
    if (messages.length === 0) return;
    // One JSON parameter rather than a row of parameters per message: a delivery holds thousands.
    const rows = JSON.stringify(
      messages.map((m) => ({ provider: m.provider, provider_message_id: m.providerMessageId, channel: m.channel, received_at: m.receivedAt })),
    );
    await this.db.execute(sql`
      insert into inbound_messages (id, provider, provider_message_id, channel, received_at, processed_at, started_count)
      select gen_random_uuid(), r.provider, r.provider_message_id, r.channel, r.received_at, now(), 0
      from json_to_recordset(${rows}::json) as r (provider text, provider_message_id text, channel text, received_at timestamptz)
      on conflict (provider, provider_message_id) do nothing`);
  }

  async staleTriggers(): Promise<StaleTrigger[]> {
    // Reads only the narrow workflows rows, never a graph; O(active workflows) per call.
    const rows = await this.db
      .select({ workflowId: workflows.id, workspaceId: workflows.workspaceId, version: workflows.latestVersion })
      .from(workflows)
      .leftJoin(workflowTriggers, eq(workflowTriggers.workflowId, workflows.id))
      .where(
        and(
          eq(workflows.status, 'ACTIVE'),
          isNotNull(workflows.latestVersion),
          or(isNull(workflowTriggers.workflowId), ne(workflowTriggers.version, workflows.latestVersion)),
        ),
      );
    return rows.flatMap((r) => (r.version === null ? [] : [{ ...r, version: r.version }]));
  }

  async saveTriggers(entries: readonly TriggerIndexEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insert(workflowTriggers)
      .values(
        entries.map((e) => ({ ...e, updatedAt: new Date() })),
      )
      .onConflictDoUpdate({
        target: workflowTriggers.workflowId,
        set: {
          version: sql`excluded.version`,
          triggerType: sql`excluded.trigger_type`,
          channel: sql`excluded.channel`,
          config: sql`excluded.config`,
          updatedAt: sql`excluded.updated_at`,
        },
        // Two deliveries refreshing at once, or one late with an older version, never go backwards.
        setWhere: sql`${workflowTriggers.version} < excluded.version`,
      });
  }

  async findMessageTriggered(triggerType: string, channel: InboundChannel): Promise<MessageTriggeredWorkflow[]> {
    const rows = await this.db
      .select({
        workflowId: workflowTriggers.workflowId,
        workspaceId: workflowTriggers.workspaceId,
        version: workflowTriggers.version,
        config: workflowTriggers.config,
      })
      .from(workflowTriggers)
      .innerJoin(workflows, eq(workflows.id, workflowTriggers.workflowId))
      .where(
        and(
          eq(workflowTriggers.triggerType, triggerType),
          eq(workflowTriggers.channel, channel),
          eq(workflows.status, 'ACTIVE'),
          eq(workflows.latestVersion, workflowTriggers.version),
        ),
      );
    return rows.flatMap((r) => (isJsonObject(r.config) ? [{ ...r, config: r.config }] : []));
  }
}
