/** A workspace's event signing secret as shown to it: never the secret, which is shown once. */
export interface EventSigningRecord {
  readonly workspaceId: string;
  /** When the live secret was made (a rotation makes a new one). */
  readonly createdAt: Date;
}

/**
 * The secrets workspaces sign `POST /events/:workspaceId` calls with, at most one per workspace.
 * Kept as they are, as webhook signing secrets are (an HMAC is checked with the key itself).
 */
export interface EventSigningStore {
  /** Sets the workspace's secret, replacing any old one at once. */
  put(workspaceId: string, secret: string): Promise<EventSigningRecord>;
  get(workspaceId: string): Promise<EventSigningRecord | undefined>;
  /** Whether there was a secret to remove. */
  delete(workspaceId: string): Promise<boolean>;
  /**
   * The live secret of a workspace, for checking a call; undefined for a workspace without one,
   * an unknown one, or an id that is not one at all.
   */
  secretOf(workspaceId: string): Promise<string | undefined>;
}
