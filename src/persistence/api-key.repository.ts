import { and, asc, count, eq, inArray, isNull, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import type { ApiKeyRecord, ApiKeyStore, WorkspaceRecord } from '../ports/api-key.store.port.js';
import type { Db } from './database.js';
import { apiKeys, type ApiKeyRow } from './tables/api-key.table.js';
import { workspaces } from './tables/workspace.table.js';
import { isUuid } from './workflow.repository.js';

const BOOTSTRAP_LOCK_KEY = 7_310_442_020;

const toKey = ({ hash: _hash, ...rest }: ApiKeyRow): ApiKeyRecord => rest;

/** Drizzle implementation of workspaces and API keys. */
export class ApiKeyRepository implements ApiKeyStore {
  /** Built once: every request authenticates with it (see OutboundMessageRepository on why). */
  private readonly liveKeyQuery;

  constructor(private readonly db: Db) {
    this.liveKeyQuery = db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.hash, sql.placeholder('hash')), isNull(apiKeys.revokedAt)))
      .prepare('api_key_live_by_hash');
  }

  async countWorkspaces(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(workspaces);
    return row?.n ?? 0;
  }

  async createWorkspace(input: { name: string }): Promise<WorkspaceRecord> {
    const [row] = await this.db.insert(workspaces).values({ id: randomUUID(), name: input.name }).returning();
    return row!;
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.select().from(workspaces).where(eq(workspaces.id, id));
    return row;
  }

  async insertKey(input: { workspaceId: string; name: string; prefix: string; hash: string }): Promise<ApiKeyRecord> {
    const [row] = await this.db
      .insert(apiKeys)
      .values({ id: randomUUID(), ...input })
      .returning();
    return toKey(row!);
  }

  async findLiveKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.liveKeyQuery.execute({ hash });
    return row ? toKey(row) : undefined;
  }

  async liveKeyIds(ids: readonly string[]): Promise<string[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(inArray(apiKeys.id, valid), isNull(apiKeys.revokedAt)));
    return rows.map((r) => r.id);
  }

  async listKeys(workspaceId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.workspaceId, workspaceId))
      .orderBy(asc(apiKeys.createdAt));
    return rows.map(toKey);
  }

  async revokeKey(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.workspaceId, workspaceId)))
      .returning();
    return row ? toKey(row) : undefined;
  }

  async bootstrapIfEmpty(input: {
    workspaceName: string;
    keyName: string;
    prefix: string;
    hash: string;
  }): Promise<{ workspace: WorkspaceRecord; key: ApiKeyRecord } | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
      const [existing] = await tx.select({ id: workspaces.id }).from(workspaces).limit(1);
      if (existing) return undefined;
      const [workspace] = await tx
        .insert(workspaces)
        .values({ id: randomUUID(), name: input.workspaceName })
        .returning();
      const [key] = await tx
        .insert(apiKeys)
        .values({
          id: randomUUID(),
          workspaceId: workspace!.id,
          name: input.keyName,
          prefix: input.prefix,
          hash: input.hash,
        })
        .returning();
      return { workspace: workspace!, key: toKey(key!) };
    });
  }
}
