/** An API key as listed: never its secret, only its prefix. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly prefix: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export interface WorkspaceRecord {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

/** Workspaces and their API keys (stored as SHA-256 hashes). */
export interface ApiKeyStore {
  countWorkspaces(): Promise<number>;
  createWorkspace(input: { name: string }): Promise<WorkspaceRecord>;
  getWorkspace(id: string): Promise<WorkspaceRecord | undefined>;
  insertKey(input: { workspaceId: string; name: string; prefix: string; hash: string }): Promise<ApiKeyRecord>;
  /** The live (not revoked) key with this hash. */
  findLiveKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Of these key ids, the ones that exist and are not revoked. */
  liveKeyIds(ids: readonly string[]): Promise<string[]>;
  listKeys(workspaceId: string): Promise<ApiKeyRecord[]>;
  /** Revokes a key of this workspace; undefined when there is none. */
  revokeKey(workspaceId: string, id: string): Promise<ApiKeyRecord | undefined>;
  /**
   * Creates the first workspace and its key in one transaction, under a lock, only if no workspace
   * exists yet: two processes starting on an empty database bootstrap once.
   */
  bootstrapIfEmpty(input: {
    workspaceName: string;
    keyName: string;
    prefix: string;
    hash: string;
  }): Promise<{ workspace: WorkspaceRecord; key: ApiKeyRecord } | undefined>;
}
