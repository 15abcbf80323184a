import { integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { INBOUND_CHANNELS, INBOUND_PROVIDERS } from '../../ports/inbound-message.store.port.js';

/**
 * Every message the inbound channel endpoints received, one row per provider message id: a
 * redelivery finds its row and starts nothing. Only what dedupes is kept, not the text or the
 * addresses (those live in the inputs of the instances started). Rows are kept forever.
 */
export const inboundMessages = pgTable(
  'inbound_messages',
  {
    id: uuid('id').primaryKey(),
    provider: text('provider', { enum: INBOUND_PROVIDERS }).notNull(),
    providerMessageId: text('provider_message_id').notNull(),
    channel: text('channel', { enum: INBOUND_CHANNELS }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, precision: 3 }).notNull(),
    /** Set once every matching workflow was started; a delivery finding it null starts the rest. */
    processedAt: timestamp('processed_at', { withTimezone: true, precision: 3 }),
    /** Instances the message started (those already started by an earlier delivery not counted). */
    startedCount: integer('started_count'),
  },
  (t) => [uniqueIndex('inbound_messages_provider_message_idx').on(t.provider, t.providerMessageId)],
);

export type InboundMessageRow = typeof inboundMessages.$inferSelect;
