import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { defineAction } from './action-definition.js';
import { TRIGGER_PORTS } from './trigger-ports.js';

/** Starts a run when the workflow's webhook URL is called; its input is the request payload. */
export const triggerWebhookAction = defineAction({
  type: 'trigger.webhook',
  category: 'trigger',
  displayName: 'Webhook',
  description: 'Starts the workflow when its webhook URL receives a request.',
  config: z.strictObject({
    description: z
      .string()
      .max(1_000)
      .meta({ title: 'Description', description: 'A note for people reading the workflow: what calls this webhook.' })
      .optional(),
  }),
  ports: TRIGGER_PORTS,
  start: { kind: 'webhook' },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});
