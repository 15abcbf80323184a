import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { OUTBOUND_MESSAGE_KINDS, OUTBOUND_MESSAGE_STATUSES } from '../../ports/outbound-message.store.port.js';

/**
 * Every message and like the messaging providers sent, and the ledger that makes sending
 * at-most-once per step: the unique idempotency key is claimed before the vendor is called.
 * No foreign key to the run instance (its table lives elsewhere); listing is scoped to a
 * workspace by going through the instance.
 */
export const outboundMessages = pgTable(
  'outbound_messages',
  {
    id: uuid('id').primaryKey(),
    instanceId: uuid('instance_id').notNull(),
    stepId: text('step_id').notNull(),
    /** Any channel a messaging vendor declares: the set is the deployment's, not the schema's. */
    channel: text('channel').notNull(),
    kind: text('kind', { enum: OUTBOUND_MESSAGE_KINDS }).notNull(),
    recipient: text('recipient'),
    text: text('text'),
    /** For a like: the provider's id of the message reacted to. */
    targetMessageId: text('target_message_id'),
    /** The vendor's name (see src/providers/vendors.ts). */
    provider: text('provider').notNull(),
    providerMessageId: text('provider_message_id'),
    status: text('status', { enum: OUTBOUND_MESSAGE_STATUSES }).notNull(),
    error: text('error'),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    // Millisecond precision, as a JS Date holds it: a record read back compares equal to the stored value.
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  // id breaks ties between records of the same millisecond, so the index serves the whole keyset order.
  (t) => [index('outbound_messages_instance_idx').on(t.instanceId, t.createdAt, t.id)],
);

export type OutboundMessageRow = typeof outboundMessages.$inferSelect;
export type NewOutboundMessageRow = typeof outboundMessages.$inferInsert;
