/** A workflow's webhook as shown to its workspace: never the token or the signing secret. */
export interface WebhookRecord {
  readonly workflowId: string;
  readonly workspaceId: string;
  /** The first characters of the live token. */
  readonly prefix: string;
  readonly signingEnabled: boolean;
  readonly createdAt: Date;
  /** When the token was last replaced; null while the first one is live. */
  readonly rotatedAt: Date | null;
}

/** What a call to the webhook URL needs to be checked: the record and the signing secret. */
export interface WebhookCredentials extends WebhookRecord {
  /** Null when calls need no signature. */
  readonly signingSecret: string | null;
}

/** A new URL token as stored: its hash and its visible prefix. */
export interface StoredToken {
  readonly tokenHash: string;
  readonly prefix: string;
}

/**
 * Webhooks of workflows, at most one per workflow. Tokens are stored as SHA-256 hashes; every
 * method taking a workspace id finds nothing in another workspace.
 */
export interface WebhookStore {
  /** Creates the workflow's webhook; undefined when it already has one. */
  insert(input: {
    readonly workspaceId: string;
    readonly workflowId: string;
    readonly token: StoredToken;
    readonly signingSecret: string | null;
  }): Promise<WebhookRecord | undefined>;
  get(workspaceId: string, workflowId: string): Promise<WebhookRecord | undefined>;
  /** Replaces the token (the old one stops working at once); undefined when there is no webhook. */
  rotateToken(workspaceId: string, workflowId: string, token: StoredToken): Promise<WebhookRecord | undefined>;
  /** Sets (or, with null, removes) the signing secret; undefined when there is no webhook. */
  setSigningSecret(workspaceId: string, workflowId: string, secret: string | null): Promise<WebhookRecord | undefined>;
  /** Whether there was a webhook to delete. */
  delete(workspaceId: string, workflowId: string): Promise<boolean>;
  /** The webhook whose live token has this hash, in any workspace. */
  findByTokenHash(tokenHash: string): Promise<WebhookCredentials | undefined>;
}
