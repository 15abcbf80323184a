import { invalidState, notFound } from '../domain/errors.js';
import type { WebhookRecord, WebhookStore } from '../ports/webhook.store.port.js';
import type { WorkflowStore } from '../ports/workflow.store.port.js';
import { newSigningSecret, newWebhookToken } from './webhook-credentials.js';

/** Who asks: every operation is scoped to this workspace. */
export interface WebhookActor {
  readonly workspaceId: string;
}

/** A webhook with the credentials just made; the only time they are known. */
export interface IssuedWebhook {
  readonly webhook: WebhookRecord;
  /** The full URL to call, token included. */
  readonly url: string;
  readonly token: string;
}

export interface WebhookServiceOptions {
  readonly store: WebhookStore;
  readonly workflows: WorkflowStore;
  /** The public origin of the server, without a trailing slash (known only once it listens). */
  readonly publicBaseUrl: () => string;
}

/** The path a webhook token is called on. */
export const webhookPath = (token: string): string => `/hooks/${token}`;

/**
 * Creates, rotates and removes workflow webhooks. A workflow of another workspace is NOT_FOUND,
 * as is a workflow without a webhook for the operations that need one.
 */
export class WebhookService {
  constructor(private readonly options: WebhookServiceOptions) {}

  async get(actor: WebhookActor, workflowId: string): Promise<WebhookRecord | undefined> {
    return this.options.store.get(actor.workspaceId, workflowId);
  }

  /** Gives the workflow its webhook; INVALID_STATE when it has one already or is archived. */
  async create(
    actor: WebhookActor,
    args: { workflowId: string; signing: boolean },
  ): Promise<IssuedWebhook & { signingSecret: string | null }> {
    const wf = await this.options.workflows.get(actor.workspaceId, args.workflowId);
    if (!wf) throw notFound('Workflow', args.workflowId);
    if (wf.status === 'ARCHIVED') throw invalidState('The workflow is archived', { status: wf.status });
    const { token, stored } = newWebhookToken();
    const signingSecret = args.signing ? newSigningSecret() : null;
    const webhook = await this.options.store.insert({
      workspaceId: actor.workspaceId,
      workflowId: wf.id,
      token: stored,
      signingSecret,
    });
    if (!webhook) {
      throw invalidState('The workflow already has a webhook; rotate its token with rotateWebhookToken');
    }
    return { webhook, url: this.url(token), token, signingSecret };
  }

  /** Replaces the URL token; the old URL answers 404 at once. The signing secret is unchanged. */
  async rotateToken(actor: WebhookActor, workflowId: string): Promise<IssuedWebhook> {
    await this.owned(actor, workflowId);
    const { token, stored } = newWebhookToken();
    const webhook = await this.options.store.rotateToken(actor.workspaceId, workflowId, stored);
    if (!webhook) throw notFound('Webhook of workflow', workflowId);
    return { webhook, url: this.url(token), token };
  }

  /**
   * Turns signing on with a new secret (replacing any old one at once) or off. The URL is
   * unchanged.
   */
  async setSigning(
    actor: WebhookActor,
    args: { workflowId: string; enabled: boolean },
  ): Promise<{ webhook: WebhookRecord; signingSecret: string | null }> {
    await this.owned(actor, args.workflowId);
    const signingSecret = args.enabled ? newSigningSecret() : null;
    const webhook = await this.options.store.setSigningSecret(actor.workspaceId, args.workflowId, signingSecret);
    if (!webhook) throw notFound('Webhook of workflow', args.workflowId);
    return { webhook, signingSecret };
  }

  /** Removes the webhook; false when the workflow had none. */
  async delete(actor: WebhookActor, workflowId: string): Promise<boolean> {
    await this.owned(actor, workflowId);
    return this.options.store.delete(actor.workspaceId, workflowId);
  }

  private url(token: string): string {
    return `${this.options.publicBaseUrl()}${webhookPath(token)}`;
  }

  private async owned(actor: WebhookActor, workflowId: string): Promise<void> {
    if (!(await this.options.workflows.get(actor.workspaceId, workflowId))) throw notFound('Workflow', workflowId);
  }
}
