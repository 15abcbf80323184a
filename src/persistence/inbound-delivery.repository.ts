import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import type {
  ClaimedInboundDelivery,
  InboundDeliveryRecord,
  InboundDeliveryStore,
  InboundMessage,
  NewInboundDelivery,
} from '../ports/inbound-delivery.store.port.js';
import { INBOUND_CHANNELS, INBOUND_PROVIDERS } from '../ports/inbound-message.store.port.js';
import type { Db } from './database.js';
import { inboundDeliveries, type InboundDeliveryRow } from './tables/inbound-delivery.table.js';

/** A message of the messages column as written by `save`: dates as ISO strings. */
const storedMessage = z.object({
    provider: z.enum(INBOUND_PROVIDERS),
    channel: z.enum(INBOUND_CHANNELS),
    from: z.string(),
    to: z.string(),
    text: z.string(),
    providerMessageId: z.string(),
    receivedAt: z.iso.datetime().transform((s) => new Date(s)),
});

/**
 * Messages written or read between two turns of the event loop: a delivery as large as the body
 * limit holds thousands, and serialising or checking them in one go would hold up other requests.
 */
const MESSAGES_PER_TURN = 250;

/** The messages as a JSON array, built a slice at a time. */
async function messagesJson(messages: readonly InboundMessage[]): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < messages.length; i += MESSAGES_PER_TURN) {
    if (i > 0) await yieldToEventLoop();
    parts.push(messages.slice(i, i + MESSAGES_PER_TURN).map((m) => JSON.stringify(m)).join(','));
  }
  return `[${parts.join(',')}]`;
}

async function parseMessages(stored: string | null): Promise<InboundMessage[]> {
  // Array.isArray, not z.array: that would walk all of a delivery's thousands of items in one go.
  const items: unknown = JSON.parse(stored ?? '[]');
  if (!Array.isArray(items)) throw new Error('A stored delivery holds no message list');
  const messages: InboundMessage[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % MESSAGES_PER_TURN === 0) await yieldToEventLoop();
    messages.push(storedMessage.parse(items[i]));
  }
  return messages;
}

const toRecord = (r: InboundDeliveryRow): InboundDeliveryRecord => ({
  id: r.id,
  provider: r.provider,
  contentDigest: r.contentDigest,
  messageCount: r.messageCount,
  ignored: r.ignored,
  receivedAt: r.receivedAt,
  processedAt: r.processedAt,
});

const toClaimed = async (r: InboundDeliveryRow): Promise<ClaimedInboundDelivery> => ({
  delivery: toRecord(r),
  messages: await parseMessages(r.messages),
  claim: r.claims,
});

/** Leases are reckoned on the database's clock, the one every process shares. */
const leaseFromNow = (ms: number) => sql`now() + ${Math.round(ms)}::int * interval '1 millisecond'`;

/** Drizzle implementation of the inbound delivery store. */
export class InboundDeliveryRepository implements InboundDeliveryStore {
  constructor(private readonly db: Db) {}

  async save(input: NewInboundDelivery, options: { readonly claimForMs?: number } = {}) {
    const pending = input.messages.length > 0;
    const claim = pending && options.claimForMs !== undefined;
    const [inserted] = await this.db
      .insert(inboundDeliveries)
      .values({
        id: randomUUID(),
        provider: input.provider,
        signedDigest: input.signedDigest,
        contentDigest: input.contentDigest,
        // Serialised a slice at a time: thousands of messages at once would hold up other requests.
        messages: pending ? await messagesJson(input.messages) : null,
        messageCount: input.messages.length,
        ignored: input.ignored,
        receivedAt: input.receivedAt,
        leaseUntil: claim ? leaseFromNow(options.claimForMs!) : null,
        claims: claim ? 1 : 0,
        processedAt: pending ? null : sql`now()`,
        startedCount: pending ? null : 0,
      })
      .onConflictDoNothing({ target: [inboundDeliveries.provider, inboundDeliveries.signedDigest] })
      .returning();
    if (inserted) {
      const delivery = toRecord(inserted);
      return { delivery, created: true, ...(claim ? { claimed: { delivery, messages: input.messages, claim: 1 } } : {}) };
    }
    const [existing] = await this.db
      .select()
      .from(inboundDeliveries)
      .where(and(eq(inboundDeliveries.provider, input.provider), eq(inboundDeliveries.signedDigest, input.signedDigest)));
    if (!existing) throw new Error('inbound delivery insert conflicted but no row holds its signed digest');
    return { delivery: toRecord(existing), created: false };
  }

  async claimNext(leaseMs: number): Promise<ClaimedInboundDelivery | undefined> {
    const claimable = this.db
      .select({ id: inboundDeliveries.id })
      .from(inboundDeliveries)
      .where(
        and(
          isNull(inboundDeliveries.processedAt),
          or(isNull(inboundDeliveries.leaseUntil), lt(inboundDeliveries.leaseUntil, sql`now()`)),
        ),
      )
      .orderBy(asc(inboundDeliveries.receivedAt), asc(inboundDeliveries.id))
      .limit(1)
      // Another process claiming at the same moment takes the next row instead of waiting for this one.
      .for('update', { skipLocked: true });
    const [row] = await this.db
      .update(inboundDeliveries)
      .set({ leaseUntil: leaseFromNow(leaseMs), claims: sql`${inboundDeliveries.claims} + 1` })
      .where(inArray(inboundDeliveries.id, claimable))
      .returning();
    return row ? await toClaimed(row) : undefined;
  }

  async extendClaim(claimed: ClaimedInboundDelivery, leaseMs: number): Promise<boolean> {
    const rows = await this.db
      .update(inboundDeliveries)
      .set({ leaseUntil: leaseFromNow(leaseMs) })
      .where(this.held(claimed))
      .returning({ id: inboundDeliveries.id });
    return rows.length > 0;
  }

  async release(claimed: ClaimedInboundDelivery): Promise<void> {
    await this.db.update(inboundDeliveries).set({ leaseUntil: null }).where(this.held(claimed));
  }

  async finish(claimed: ClaimedInboundDelivery, startedCount: number): Promise<boolean> {
    const rows = await this.db
      .update(inboundDeliveries)
      .set({ processedAt: sql`now()`, leaseUntil: null, messages: null, startedCount })
      .where(this.held(claimed))
      .returning({ id: inboundDeliveries.id });
    return rows.length > 0;
  }

  /** The claim is the delivery's latest and it is not processed yet. */
  private held(claimed: ClaimedInboundDelivery) {
    return and(
      eq(inboundDeliveries.id, claimed.delivery.id),
      eq(inboundDeliveries.claims, claimed.claim),
      isNull(inboundDeliveries.processedAt),
    );
  }
}
