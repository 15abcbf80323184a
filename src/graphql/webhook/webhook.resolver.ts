import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import type { WebhookService } from '../../services/webhook.service.js';
import type { WebhookRecord } from '../../ports/webhook.store.port.js';
import type { GraphQLContext } from '../context.js';
import { Workflow } from '../workflow/workflow.type.js';
import { IssuedWebhook, Webhook, WebhookSigningResult } from './webhook.type.js';

const toWebhook = (r: WebhookRecord): Webhook =>
  Object.assign(new Webhook(), {
    prefix: r.prefix,
    signingEnabled: r.signingEnabled,
    createdAt: r.createdAt,
    rotatedAt: r.rotatedAt,
  });

/** Webhook URLs of workflows: a thin adapter over the webhook service. */
@Resolver(() => Workflow)
export class WebhookResolver {
  constructor(private readonly deps: { readonly webhooks: WebhookService }) {}

  @FieldResolver(() => Webhook, {
    nullable: true,
    description: 'The webhook URL that starts this workflow, if it has one.',
  })
  async webhook(@Root() wf: Workflow, @Ctx() ctx: GraphQLContext): Promise<Webhook | null> {
    const record = await this.deps.webhooks.get(ctx.actor, wf.id);
    return record ? toWebhook(record) : null;
  }

  @Mutation(() => IssuedWebhook, {
    description:
      'Gives a workflow its webhook URL (POST /hooks/<token>), optionally with a signing secret; INVALID_STATE when it has one already (use rotateWebhookToken).',
  })
  async createWebhook(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('signingSecret', () => Boolean, {
      defaultValue: false,
      description: 'Require calls to be signed with a new secret (returned once).',
    })
    signingSecret: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<IssuedWebhook> {
    const issued = await this.deps.webhooks.create(ctx.actor, { workflowId, signing: signingSecret });
    return this.issued(issued, issued.signingSecret);
  }

  @Mutation(() => IssuedWebhook, {
    description: 'Replaces the URL token; the old URL stops working at once. The signing secret is kept (and not shown).',
  })
  async rotateWebhookToken(@Arg('workflowId', () => ID) workflowId: string, @Ctx() ctx: GraphQLContext): Promise<IssuedWebhook> {
    return this.issued(await this.deps.webhooks.rotateToken(ctx.actor, workflowId), null);
  }

  @Mutation(() => WebhookSigningResult, {
    description:
      'Turns signing on with a new secret (the old one stops working at once; also how to rotate it) or off. The URL is unchanged.',
  })
  async setWebhookSigning(
    @Arg('workflowId', () => ID) workflowId: string,
    @Arg('enabled', () => Boolean) enabled: boolean,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WebhookSigningResult> {
    const { webhook, signingSecret } = await this.deps.webhooks.setSigning(ctx.actor, { workflowId, enabled });
    return Object.assign(new WebhookSigningResult(), { webhook: toWebhook(webhook), signingSecret });
  }

  @Mutation(() => Boolean, { description: 'Removes the webhook; its URL answers 404 from then on. False when there was none.' })
  deleteWebhook(@Arg('workflowId', () => ID) workflowId: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return this.deps.webhooks.delete(ctx.actor, workflowId);
  }

  private issued(
    issued: { webhook: WebhookRecord; url: string; token: string },
    signingSecret: string | null,
  ): IssuedWebhook {
    return Object.assign(new IssuedWebhook(), {
      webhook: toWebhook(issued.webhook),
      url: issued.url,
      token: issued.token,
      prefix: issued.webhook.prefix,
      signingSecret,
    });
  }
}
