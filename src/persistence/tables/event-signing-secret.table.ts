import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './workspace.table.js';

/**
 * The secret a workspace signs `POST /events/:workspaceId` calls with (at most one). Kept as it
 * is, like a webhook's signing secret (webhook-endpoint.table.ts): checking an HMAC needs the key
 * itself, so a hash would not do.
 */
export const eventSigningSecrets = pgTable('event_signing_secrets', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  secret: text('secret').notNull(),
  /** When this secret was made: a rotation replaces the row's secret and this time. */
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export type EventSigningSecretRow = typeof eventSigningSecrets.$inferSelect;
