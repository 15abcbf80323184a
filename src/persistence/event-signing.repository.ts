import { eq, sql } from 'drizzle-orm';
import type { EventSigningRecord, EventSigningStore } from '../ports/event-signing.store.port.js';
import type { Db } from './database.js';
import { eventSigningSecrets, type EventSigningSecretRow } from './tables/event-signing-secret.table.js';
import { isUuid } from './workflow.repository.js';

const toRecord = (r: EventSigningSecretRow): EventSigningRecord => ({ workspaceId: r.workspaceId, createdAt: r.createdAt });

/** Drizzle implementation of the event signing store. */
export class EventSigningRepository implements EventSigningStore {
  constructor(private readonly db: Db) {}

  async put(workspaceId: string, secret: string): Promise<EventSigningRecord> {
    const [row] = await this.db
      .insert(eventSigningSecrets)
      .values({ workspaceId, secret })
      .onConflictDoUpdate({ target: eventSigningSecrets.workspaceId, set: { secret, createdAt: sql`now()` } })
      .returning();
    if (!row) throw new Error('event signing secret upsert returned no row');
    return toRecord(row);
  }

  async get(workspaceId: string): Promise<EventSigningRecord | undefined> {
    if (!isUuid(workspaceId)) return undefined;
    const [row] = await this.db.select().from(eventSigningSecrets).where(eq(eventSigningSecrets.workspaceId, workspaceId));
    return row ? toRecord(row) : undefined;
  }

  async delete(workspaceId: string): Promise<boolean> {
    if (!isUuid(workspaceId)) return false;
    const rows = await this.db
      .delete(eventSigningSecrets)
      .where(eq(eventSigningSecrets.workspaceId, workspaceId))
      .returning({ workspaceId: eventSigningSecrets.workspaceId });
    return rows.length > 0;
  }

  async secretOf(workspaceId: string): Promise<string | undefined> {
    // The id comes from a URL: anything that is not a uuid would make Postgres raise, not find nothing.
    if (!isUuid(workspaceId)) return undefined;
    const [row] = await this.db
      .select({ secret: eventSigningSecrets.secret })
      .from(eventSigningSecrets)
      .where(eq(eventSigningSecrets.workspaceId, workspaceId));
    return row?.secret;
  }
}
