import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './workspace.table.js';

/**
 * Signed events accepted on `POST /events/:workspaceId`, one row per workspace and signed
 * message, kept until its signature would be stale anyway: a replay within the tolerance finds
 * its row and is refused. Expired rows are reused or deleted by the next claim of their workspace.
 */
export const seenEventSignatures = pgTable(
  'seen_event_signatures',
  {
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    /** Hex SHA-256 of the signed message, `"<t>.<body bytes>"`. */
    digest: text('digest').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.digest] }), index('seen_event_signatures_expiry_idx').on(t.workspaceId, t.expiresAt)],
);

export type SeenEventSignatureRow = typeof seenEventSignatures.$inferSelect;
