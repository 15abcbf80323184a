import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { INBOUND_PROVIDERS } from '../../ports/inbound-message.store.port.js';

/**
 * Every verified delivery of the inbound channel endpoints, stored in one insert before it is
 * answered and processed from here afterwards. One row per provider and signed digest: a
 * redelivery of the same signed bytes finds its row. Rows are kept (the digests refuse replays
 * for ever, since Twilio's signature has no timestamp); the messages are dropped once processed.
 */
export const inboundDeliveries = pgTable(
  'inbound_deliveries',
  {
    id: uuid('id').primaryKey(),
    provider: text('provider', { enum: INBOUND_PROVIDERS }).notNull(),
    /** Hex SHA-256 of what the provider signed. */
    signedDigest: text('signed_digest').notNull(),
    /** Hex SHA-256 of the content as parsed; a delivery with the same signed digest and another content is a replay. */
    contentDigest: text('content_digest').notNull(),
    /**
     * The messages to process, as JSON text, until they are processed. Text rather than json or
     * jsonb: they are only ever read back whole, and the answer waits for this insert, in which
     * Postgres would check or convert up to the body limit of JSON (on the embedded database, in
     * this process: 4,400 messages took 42-170 ms as json, 20-36 ms as text).
     */
    messages: text('messages'),
    messageCount: integer('message_count').notNull(),
    ignored: integer('ignored').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull(),
    /** A process holds the delivery until then; null or past: any process may claim it. */
    leaseUntil: timestamp('lease_until', { withTimezone: true, precision: 3 }),
    /** How often it was claimed; each claim's number is its token. */
    claims: integer('claims').notNull().default(0),
    processedAt: timestamp('processed_at', { withTimezone: true, precision: 3 }),
    /** Instances its messages started (those already started by an earlier delivery not counted). */
    startedCount: integer('started_count'),
  },
  (t) => [
    uniqueIndex('inbound_deliveries_signed_idx').on(t.provider, t.signedDigest),
    index('inbound_deliveries_pending_idx').on(t.receivedAt, t.id).where(sql`${t.processedAt} is null`),
  ],
);

export type InboundDeliveryRow = typeof inboundDeliveries.$inferSelect;
