import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JsonValue } from '../../domain/json.js';
import { workspaces } from './workspace.table.js';

/**
 * Events sent when no step waited for them, kept until `expires_at` for the first wait that
 * reaches them (deleted when taken, when expired, or with their workspace). Bounded per key and
 * per workspace by the sender's limits.
 */
export const pendingEvents = pgTable(
  'pending_events',
  {
    id: uuid('id').primaryKey(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    key: text('key').notNull(),
    /** SQL NULL stands for a JSON null payload. */
    payload: jsonb('payload').$type<JsonValue>(),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('pending_events_match_idx').on(t.workspaceId, t.name, t.key, t.sentAt),
    index('pending_events_workspace_expiry_idx').on(t.workspaceId, t.expiresAt),
    index('pending_events_expiry_idx').on(t.expiresAt),
  ],
);

export type PendingEventRow = typeof pendingEvents.$inferSelect;
