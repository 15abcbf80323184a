import { and, eq, sql } from 'drizzle-orm';
import type {
  StoredToken,
  WebhookCredentials,
  WebhookRecord,
  WebhookStore,
} from '../ports/webhook.store.port.js';
import type { Db } from './database.js';
import { webhookEndpoints, type WebhookEndpointRow } from './tables/webhook-endpoint.table.js';
import { isUuid } from './workflow.repository.js';

const toCredentials = (r: WebhookEndpointRow): WebhookCredentials => ({
  workflowId: r.workflowId,
  workspaceId: r.workspaceId,
  prefix: r.tokenPrefix,
  signingEnabled: r.signingSecret !== null,
  signingSecret: r.signingSecret,
  createdAt: r.createdAt,
  rotatedAt: r.rotatedAt,
});
const toRecord = (r: WebhookEndpointRow): WebhookRecord => {
  const { signingSecret: _secret, ...record } = toCredentials(r);
  return record;
};

/** Drizzle implementation of the webhook store. */
export class WebhookRepository implements WebhookStore {
  constructor(private readonly db: Db) {}

  async insert(input: {
    workspaceId: string;
    workflowId: string;
    token: StoredToken;
    signingSecret: string | null;
  }): Promise<WebhookRecord | undefined> {
    const [row] = await this.db
      .insert(webhookEndpoints)
      .values({
        workflowId: input.workflowId,
        workspaceId: input.workspaceId,
        tokenPrefix: input.token.prefix,
        tokenHash: input.token.tokenHash,
        signingSecret: input.signingSecret,
      })
      .onConflictDoNothing({ target: webhookEndpoints.workflowId })
      .returning();
    return row ? toRecord(row) : undefined;
  }

  async get(workspaceId: string, workflowId: string): Promise<WebhookRecord | undefined> {
    if (!isUuid(workflowId)) return undefined;
    const [row] = await this.db.select().from(webhookEndpoints).where(this.owned(workspaceId, workflowId));
    return row ? toRecord(row) : undefined;
  }

  async rotateToken(workspaceId: string, workflowId: string, token: StoredToken): Promise<WebhookRecord | undefined> {
    if (!isUuid(workflowId)) return undefined;
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({ tokenHash: token.tokenHash, tokenPrefix: token.prefix, rotatedAt: sql`now()` })
      .where(this.owned(workspaceId, workflowId))
      .returning();
    return row ? toRecord(row) : undefined;
  }

  async setSigningSecret(workspaceId: string, workflowId: string, secret: string | null): Promise<WebhookRecord | undefined> {
    if (!isUuid(workflowId)) return undefined;
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({ signingSecret: secret })
      .where(this.owned(workspaceId, workflowId))
      .returning();
    return row ? toRecord(row) : undefined;
  }

  async delete(workspaceId: string, workflowId: string): Promise<boolean> {
    if (!isUuid(workflowId)) return false;
    const rows = await this.db
      .delete(webhookEndpoints)
      .where(this.owned(workspaceId, workflowId))
      .returning({ workflowId: webhookEndpoints.workflowId });
    return rows.length > 0;
  }

  async findByTokenHash(tokenHash: string): Promise<WebhookCredentials | undefined> {
    const [row] = await this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tokenHash, tokenHash));
    return row ? toCredentials(row) : undefined;
  }

  private owned(workspaceId: string, workflowId: string) {
    return and(eq(webhookEndpoints.workflowId, workflowId), eq(webhookEndpoints.workspaceId, workspaceId));
  }
}
