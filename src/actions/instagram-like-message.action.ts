import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { retryOverrideSchema } from '../domain/retry-policy.js';
import { defineAction } from './action-definition.js';
import { fatal } from '../domain/action-error.js';
import { templateString } from './config-fields.js';
import { EXTERNAL_CALL_RETRY } from './default-retry-policies.js';

/** Likes (reacts to) an Instagram message, typically the one that triggered the run. */
export const instagramLikeMessageAction = defineAction({
  type: 'instagram.likeMessage',
  category: 'action',
  displayName: 'Like Instagram message',
  description: 'Reacts with a like to an Instagram direct message.',
  config: z.strictObject({
    messageId: templateString({ min: 1, max: 1_000 }).meta({
      title: 'Message id',
      description: 'The Instagram message to like; a template such as {{trigger.message.id}}.',
    }),
    recipient: templateString({ min: 1, max: 1_000 })
      .meta({
        title: 'Recipient',
        description: "The sender of that message, e.g. {{trigger.message.from}}; Meta's API needs it to address the reaction.",
      })
      .optional(),
    retry: retryOverrideSchema.optional(),
  }),
  ports: [{ name: NEXT_PORT, required: false }],
  retry: EXTERNAL_CALL_RETRY,
  async run(ctx) {
    const messageId = ctx.render(ctx.config.messageId).trim();
    if (messageId === '') throw fatal('Message id is empty after rendering', { field: 'messageId' });
    const recipientId = ctx.config.recipient === undefined ? undefined : ctx.render(ctx.config.recipient).trim() || undefined;
    const provider = ctx.services.messaging('instagram');
    if (provider.likeMessage === undefined) throw fatal('The Instagram provider cannot like messages');
    await provider.likeMessage({
      channel: 'instagram',
      messageId,
      ...(recipientId ? { recipientId } : {}),
      instanceId: ctx.instanceId,
      stepId: ctx.stepId,
      idempotencyKey: ctx.idempotencyKey,
      beforeSend: ctx.beforeSideEffect,
    });
    return { kind: 'continue', port: NEXT_PORT, output: { messageId } };
  },
});
