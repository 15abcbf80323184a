import { z } from 'zod';
import { fatal } from '../domain/action-error.js';
import { bindCondition } from '../domain/condition-binding.js';
import { CONDITION_MAX_DEPTH, CONDITION_MAX_NODES, conditionSchema } from '../domain/condition.js';
import { eventFieldProblem } from '../domain/wait.js';
import { INBOUND_CHANNELS } from '../ports/inbound-message.store.port.js';
import type { ActionResult } from '../ports/action.port.js';
import { defineAction } from './action-definition.js';
import { templateString } from './config-fields.js';
import { durationField, durationMs } from './delay.action.js';
import { RECEIVED_PORT, TIMED_OUT_PORT } from './wait-for-event.action.js';

/** The sender of the message that started the run (trigger.incomingMessage). */
export const TRIGGERING_SENDER = '{{ trigger.message.from }}';

const configSchema = z.strictObject({
  channel: z.enum(INBOUND_CHANNELS).meta({ title: 'Channel', description: 'The channel the reply must come on.' }),
  from: templateString({ min: 1, max: 500 })
    .default(TRIGGERING_SENDER)
    .meta({
      title: 'From',
      description: `Whose reply to wait for, as the channel names senders: a template, by default ${TRIGGERING_SENDER} (whoever sent the message that started the run).`,
    }),
  when: conditionSchema
    .meta({
      title: 'When',
      description: `Wait only for a reply for which this condition holds; it reads the reply as this step's output (steps.<this step>.output.text), and anything else of the run as it is when the wait begins. Nested at most ${CONDITION_MAX_DEPTH} deep, with at most ${CONDITION_MAX_NODES} parts.`,
    })
    .optional(),
  timeout: durationField({
    title: 'Timeout',
    description: 'How long to wait for the reply, at most 365 days; then the step continues on timedOut.',
  }),
  alsoStartWorkflows: z
    .boolean()
    .default(false)
    .meta({
      title: 'Also start workflows',
      description:
        "Let the reply also start the workflows its channel triggers, for this step alone. By default a message that ends this wait starts none in this workspace, unless the workflow's repliesAlsoStartWorkflows setting lets it for all its waits.",
    }),
});

/**
 * Waits for the next inbound message from a contact on a channel (by default the sender of the
 * message that started the run), optionally one that satisfies a condition: on `received` with the
 * message as output (`{ id, from, to, text, channel, receivedAt }`), or on `timedOut`. Messages that
 * came before the wait began do not count.
 */
export const waitForMessageAction = defineAction({
  type: 'wait.forMessage',
  category: 'logic',
  displayName: 'Wait for a reply',
  description: 'Waits for the next message from a contact (received), or until the timeout passes (timedOut).',
  config: configSchema,
  ports: [
    { name: RECEIVED_PORT, required: false },
    { name: TIMED_OUT_PORT, required: true },
  ],
  async run(ctx): Promise<ActionResult> {
    const { channel, timeout, when, alsoStartWorkflows } = ctx.config;
    const contact = ctx.render(ctx.config.from);
    if (ctx.resumedAfterWait) {
      if (ctx.arrival) return { kind: 'continue', port: RECEIVED_PORT, output: ctx.arrival.payload };
      return { kind: 'continue', port: TIMED_OUT_PORT, output: { timedOut: true, channel, from: contact } };
    }
    const problem = eventFieldProblem('key', contact);
    if (problem !== undefined) {
      throw fatal(`The rendered sender is refused: ${problem.replace('A correlation key', 'A sender')}`, { from: contact.slice(0, 300) });
    }
    const own = `steps.${ctx.stepId}.output`;
    const bound = when && bindCondition(when, ctx.context, (path) => path === own || path.startsWith(`${own}.`));
    const until = new Date(ctx.services.clock.now().getTime() + durationMs(timeout));
    return {
      kind: 'wait',
      until,
      output: { channel, from: contact, until: until.toISOString() },
      for: { reason: 'message', channel, contact, stepId: ctx.stepId, alsoStartsWorkflows: alsoStartWorkflows, ...(bound ? { when: bound } : {}) },
    };
  },
});
