import { and, asc, count, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type {
  NewOutboundMessage,
  OutboundMessageRecord,
  OutboundMessageStore,
  RecordOutcome,
} from '../ports/outbound-message.store.port.js';
import type { Page, PageRequest } from '../ports/page.js';
import { cursorCodec, cursorTimestamp, cursorUuid, timestampText } from './cursor.js';
import { CommitBatcher, type Settled } from './commit-batcher.js';
import type { Db } from './database.js';
import { outboundMessages } from './tables/outbound-message.table.js';
import { isUuid } from './workflow.repository.js';

/** Keyset cursor of an instance's messages: createdAt and id. */
export const messageCursor = cursorCodec('messages', z.tuple([cursorTimestamp, cursorUuid]));

/** A claim released between our failed insert and our read frees the key; insert again then. */
const RECORD_ATTEMPTS = 3;

/** Drizzle implementation of the outbound message store. */
export class OutboundMessageRepository implements OutboundMessageStore {
  /**
   * Built once: every message step records one, and building the insert each time was the larger
   * part of its cost (drizzle's query building took 13 % of a step chain's CPU).
   */
  private readonly insertQuery;

  /**
   * Records submitted while others are on their way go to Postgres together, in one insert and
   * one transaction (one WAL flush for all), as the engine's commits do: every message step
   * records one, so under load they would otherwise be most of the statements a step costs.
   */
  private readonly inserts: CommitBatcher<NewOutboundMessage, OutboundMessageRecord | undefined>;

  constructor(private readonly db: Db) {
    this.inserts = new CommitBatcher({ run: (messages) => this.insertMany(messages), maxInFlight: 2, maxBatch: 200 });
    const p = (name: keyof NewOutboundMessage) => sql.placeholder(name);
    this.insertQuery = db
      .insert(outboundMessages)
      .values({
        id: p('id'),
        instanceId: p('instanceId'),
        stepId: p('stepId'),
        channel: p('channel'),
        kind: p('kind'),
        recipient: p('recipient'),
        text: p('text'),
        targetMessageId: p('targetMessageId'),
        provider: p('provider'),
        providerMessageId: p('providerMessageId'),
        status: p('status'),
        idempotencyKey: p('idempotencyKey'),
      })
      .onConflictDoNothing({ target: outboundMessages.idempotencyKey })
      .returning()
      .prepare('outbound_message_record');
  }

  async record(message: NewOutboundMessage): Promise<RecordOutcome> {
    for (let attempt = 0; attempt < RECORD_ATTEMPTS; attempt++) {
      const inserted = attempt === 0 ? await this.inserts.submit(message) : (await this.insertQuery.execute({ ...message }))[0];
      if (inserted) return { record: inserted, duplicate: false };
      const [existing] = await this.db
        .select()
        .from(outboundMessages)
        .where(eq(outboundMessages.idempotencyKey, message.idempotencyKey));
      if (existing) return { record: existing, duplicate: true };
    }
    throw new Error(`Could not record outbound message for key ${message.idempotencyKey}: the key keeps changing hands`);
  }

  /** Inserts each message unless its key is taken (undefined then); one statement for many. */
  private async insertMany(messages: readonly NewOutboundMessage[]): Promise<Settled<OutboundMessageRecord | undefined>[]> {
    const one = async (m: NewOutboundMessage): Promise<Settled<OutboundMessageRecord | undefined>> => {
      try {
        return { value: (await this.insertQuery.execute({ ...m }))[0] };
      } catch (error) {
        return { error };
      }
    };
    if (messages.length === 1) return [await one(messages[0]!)];
    let rows: OutboundMessageRecord[];
    try {
      rows = await this.db
        .insert(outboundMessages)
        .values([...messages])
        .onConflictDoNothing({ target: outboundMessages.idempotencyKey })
        .returning();
    } catch {
      // One message the table refuses must not fail the others: each goes on its own.
      return Promise.all(messages.map(one));
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return messages.map((m) => ({ value: byId.get(m.id) }));
  }

  async markSent(id: string, providerMessageId: string | null): Promise<OutboundMessageRecord | undefined> {
    const [row] = await this.db
      .update(outboundMessages)
      .set({ status: 'sent', providerMessageId, error: null, updatedAt: sql`now()` })
      .where(and(eq(outboundMessages.id, id), inArray(outboundMessages.status, ['sending', 'uncertain'])))
      .returning();
    return row;
  }

  async markUncertain(id: string, error: string): Promise<OutboundMessageRecord | undefined> {
    const [row] = await this.db
      .update(outboundMessages)
      .set({ status: 'uncertain', error, updatedAt: sql`now()` })
      .where(and(eq(outboundMessages.id, id), eq(outboundMessages.status, 'sending')))
      .returning();
    return row;
  }

  async release(id: string): Promise<void> {
    await this.db
      .delete(outboundMessages)
      .where(and(eq(outboundMessages.id, id), eq(outboundMessages.status, 'sending')));
  }

  async listByInstance(instanceId: string, page: PageRequest): Promise<Page<OutboundMessageRecord>> {
    if (!isUuid(instanceId)) return { items: [], hasNextPage: false, totalCount: 0 };
    const scope = eq(outboundMessages.instanceId, instanceId);
    const after = page.after === undefined ? undefined : messageCursor.decode(page.after);
    // Oldest first; (createdAt, id) is a total order.
    const afterCond = after
      ? sql`(${outboundMessages.createdAt}, ${outboundMessages.id}) > (${after[0]}::timestamptz, ${after[1]}::uuid)`
      : undefined;
    const [rows, [total]] = await Promise.all([
      this.db
        .select({ row: outboundMessages, at: timestampText(outboundMessages.createdAt) })
        .from(outboundMessages)
        .where(and(scope, afterCond))
        .orderBy(asc(outboundMessages.createdAt), asc(outboundMessages.id))
        .limit(page.first + 1),
      this.db.select({ n: count() }).from(outboundMessages).where(scope),
    ]);
    return {
      items: rows.slice(0, page.first).map(({ row, at }) => ({ cursor: messageCursor.encode([at, row.id]), node: row })),
      hasNextPage: rows.length > page.first,
      totalCount: total?.n ?? 0,
    };
  }
}
