import { and, asc, count, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import { badInput } from '../domain/errors.js';
import type {
  NewOutboundMessage,
  OutboundMessageRecord,
  OutboundMessageStore,
  RecordOutcome,
} from '../ports/outbound-message.store.port.js';
import type { Page, PageRequest } from '../ports/page.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Db } from './database.js';
import { outboundMessages } from './tables/outbound-message.table.js';
import { isUuid } from './workflow.repository.js';

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
    let afterCond: SQL | undefined;
    if (page.after !== undefined) {
      const values = decodeCursor(page.after);
      const [at, id] = values ?? [];
      const afterDate = typeof at === 'string' ? new Date(at) : undefined;
      if (!afterDate || Number.isNaN(afterDate.getTime()) || typeof id !== 'string' || !isUuid(id)) {
        throw badInput('The cursor is not valid', 'after');
      }
      // Oldest first; (createdAt, id) is a total order.
      afterCond = or(
        gt(outboundMessages.createdAt, afterDate),
        and(eq(outboundMessages.createdAt, afterDate), gt(outboundMessages.id, id)),
      );
    }
    const [rows, [total]] = await Promise.all([
      this.db
        .select()
        .from(outboundMessages)
        .where(and(scope, afterCond))
        .orderBy(asc(outboundMessages.createdAt), asc(outboundMessages.id))
        .limit(page.first + 1),
      this.db.select({ n: count() }).from(outboundMessages).where(scope),
    ]);
    return {
      items: rows
        .slice(0, page.first)
        .map((node) => ({ cursor: encodeCursor([node.createdAt.toISOString(), node.id]), node })),
      hasNextPage: rows.length > page.first,
      totalCount: total?.n ?? 0,
    };
  }
}
