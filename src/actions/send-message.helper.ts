import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { retryOverrideSchema } from '../domain/retry-policy.js';
import type { MessagingChannel } from '../ports/messaging-provider.port.js';
import { defineAction, type ActionDefinition } from './action-definition.js';
import { fatal } from '../domain/action-error.js';
import { templateString } from './config-fields.js';
import { EXTERNAL_CALL_RETRY } from './default-retry-policies.js';

const RECIPIENT_MAX_LENGTH = 256;

/** Config of every "send a text message" action. `to` and `text` are templates. */
export const sendMessageConfigSchema = z.strictObject({
  to: templateString({ min: 1, max: 1_000 }).meta({
    title: 'To',
    description: `The recipient: a phone number, or an Instagram user id; a template such as {{trigger.message.from}}. At most ${RECIPIENT_MAX_LENGTH} characters once rendered.`,
  }),
  text: templateString({ min: 1 }).meta({ title: 'Text', description: 'The message; a template such as Hello {{trigger.message.from}}.' }),
  retry: retryOverrideSchema.optional(),
});
export type SendMessageConfig = z.infer<typeof sendMessageConfigSchema>;

/** What makes one channel's send action differ from another's. */
export interface SendMessageActionOptions {
  readonly type: string;
  readonly channel: MessagingChannel;
  readonly displayName: string;
  readonly description: string;
}

/**
 * Declares a send-text action for one channel: renders `to` and `text`, sends through the
 * channel's provider with the step's idempotency key and outputs
 * `{ providerMessageId, to, text }` on the optional `next` port.
 */
export const defineSendMessageAction = (options: SendMessageActionOptions): ActionDefinition =>
  defineAction({
    type: options.type,
    category: 'action',
    displayName: options.displayName,
    description: options.description,
    config: sendMessageConfigSchema,
    ports: [{ name: NEXT_PORT, required: false }],
    retry: EXTERNAL_CALL_RETRY,
    async run(ctx) {
      const to = ctx.render(ctx.config.to).trim();
      if (to === '') throw fatal('Recipient is empty after rendering', { field: 'to' });
      if (to.length > RECIPIENT_MAX_LENGTH) throw fatal('Recipient is too long', { field: 'to' });
      const text = ctx.render(ctx.config.text);
      if (text.trim() === '') throw fatal('Message text is empty after rendering', { field: 'text' });
      const sent = await ctx.services.messaging(options.channel).sendMessage({
        channel: options.channel,
        to,
        text,
        instanceId: ctx.instanceId,
        stepId: ctx.stepId,
        idempotencyKey: ctx.idempotencyKey,
        beforeSend: ctx.beforeSideEffect,
      });
      return { kind: 'continue', port: NEXT_PORT, output: { providerMessageId: sent.providerMessageId, to, text } };
    },
  });
