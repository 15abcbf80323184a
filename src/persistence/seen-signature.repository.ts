import { and, eq, lte } from 'drizzle-orm';
import type { SeenSignatureStore } from '../ports/seen-signature.store.port.js';
import type { Db } from './database.js';
import { seenEventSignatures } from './tables/seen-event-signature.table.js';

/** Drizzle implementation of the seen-signature store, over seen_event_signatures. */
export class SeenSignatureRepository implements SeenSignatureStore {
  constructor(private readonly db: Db) {}

  async claim(input: { workspaceId: string; digest: string; expiresAt: Date; now: Date }): Promise<boolean> {
    // The workspace's expired rows go first, so the table holds at most one tolerance window of
    // each workspace's accepted calls without a sweep of its own.
    await this.db
      .delete(seenEventSignatures)
      .where(and(eq(seenEventSignatures.workspaceId, input.workspaceId), lte(seenEventSignatures.expiresAt, input.now)));
    // A row that expired between the two statements is taken over rather than counted as a replay.
    const rows = await this.db
      .insert(seenEventSignatures)
      .values({ workspaceId: input.workspaceId, digest: input.digest, expiresAt: input.expiresAt })
      .onConflictDoUpdate({
        target: [seenEventSignatures.workspaceId, seenEventSignatures.digest],
        set: { expiresAt: input.expiresAt },
        setWhere: lte(seenEventSignatures.expiresAt, input.now),
      })
      .returning({ digest: seenEventSignatures.digest });
    return rows.length > 0;
  }

  async release(input: { workspaceId: string; digest: string }): Promise<void> {
    await this.db
      .delete(seenEventSignatures)
      .where(and(eq(seenEventSignatures.workspaceId, input.workspaceId), eq(seenEventSignatures.digest, input.digest)));
  }
}
