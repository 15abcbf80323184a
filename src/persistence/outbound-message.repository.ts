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
import type { Db } from './database.js';
import { outboundMessages } from './tables/outbound-message.table.js';
import { isUuid } from './workflow.repository.js';

/** Keyset cursor of an instance's messages: createdAt and id. */
export const messageCursor = cursorCodec('messages', z.tuple([cursorTimestamp, cursorUuid]));

/** A claim released between our failed insert and our read frees the key; insert again then. */
const RECORD_ATTEMPTS = 3;

/** Drizzle implementation of the outbound message store. */
export class OutboundMessageRepository implements OutboundMessageStore {
  constructor(private readonly db: Db) {}

  async record(message: NewOutboundMessage): Promise<RecordOutcome> {
    for (let attempt = 0; attempt < RECORD_ATTEMPTS; attempt++) {
      const [inserted] = await this.db
        .insert(outboundMessages)
        .values(message)
        .onConflictDoNothing({ target: outboundMessages.idempotencyKey })
        .returning();
      if (inserted) return { record: inserted, duplicate: false };
      const [existing] = await this.db
        .select()
        .from(outboundMessages)
        .where(eq(outboundMessages.idempotencyKey, message.idempotencyKey));
      if (existing) return { record: existing, duplicate: true };
    }
    throw new Error(`Could not record outbound message for key ${message.idempotencyKey}: the key keeps changing hands`);
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
