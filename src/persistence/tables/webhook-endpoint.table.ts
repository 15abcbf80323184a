import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workflows } from './workflow.table.js';
import { workspaces } from './workspace.table.js';

/**
 * The webhook URL of a workflow (at most one). Only a SHA-256 hash of the URL token is kept, so a
 * database leak does not reveal working URLs; the signing secret must be kept as it is, since
 * checking an HMAC needs the key itself.
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  workflowId: uuid('workflow_id')
    .primaryKey()
    .references(() => workflows.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  /** The first characters of the token, shown so a user can tell which URL is live. */
  tokenPrefix: text('token_prefix').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  /** Null when calls need no signature. */
  signingSecret: text('signing_secret'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** When the token was last replaced; null while the first one is live. */
  rotatedAt: timestamp('rotated_at', { withTimezone: true }),
});

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
