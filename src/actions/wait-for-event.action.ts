import { z } from 'zod';
import { fatal } from '../domain/action-error.js';
import { isTemplate } from '../domain/template.js';
import { eventFieldProblem, MAX_EVENT_KEY_CHARS, MAX_EVENT_NAME_CHARS } from '../domain/wait.js';
import type { ActionResult } from '../ports/action.port.js';
import { defineAction } from './action-definition.js';
import { templateString } from './config-fields.js';
import { durationField, durationMs } from './delay.action.js';

/** The ports of a wait: what it waited for came, or its timeout did first. Exactly one is taken. */
export const RECEIVED_PORT = 'received';
export const TIMED_OUT_PORT = 'timedOut';

const refineField = (field: 'name' | 'key') => (value: string, ctx: z.RefinementCtx) => {
  // A templated key is checked once rendered, when the step runs.
  if (field === 'key' && isTemplate(value)) return;
  const problem = eventFieldProblem(field, value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
};

const configSchema = z.strictObject({
  event: z
    .string()
    .max(MAX_EVENT_NAME_CHARS)
    .superRefine(refineField('name'))
    .meta({ title: 'Event', description: `The event name to wait for, as sendEvent(name) gives it (at most ${MAX_EVENT_NAME_CHARS} characters).` }),
  key: templateString({ min: 1, max: 1000 })
    .superRefine(refineField('key'))
    .meta({
      title: 'Correlation key',
      description: `Which event of that name is this instance's: a template such as order-{{ trigger.body.order }}, rendered when the step is reached (at most ${MAX_EVENT_KEY_CHARS} characters once rendered).`,
    }),
  timeout: durationField({
    title: 'Timeout',
    description: 'How long to wait for the event, at most 365 days; then the step continues on timedOut.',
  }),
});

/**
 * Waits for an event sent with `sendEvent(name, key, payload)` in the instance's workspace: on
 * `received` with the event's payload as output, or on `timedOut` when none came in time. An
 * event sent before the step is reached is kept for a while and taken when it gets there.
 */
export const waitForEventAction = defineAction({
  type: 'wait.forEvent',
  category: 'logic',
  displayName: 'Wait for an event',
  description: 'Waits until an event with this name and key is sent (received), or the timeout passes (timedOut).',
  config: configSchema,
  ports: [
    { name: RECEIVED_PORT, required: false },
    { name: TIMED_OUT_PORT, required: true },
  ],
  async run(ctx): Promise<ActionResult> {
    const { event, timeout } = ctx.config;
    const key = ctx.render(ctx.config.key);
    if (ctx.resumedAfterWait) {
      if (ctx.arrival) return { kind: 'continue', port: RECEIVED_PORT, output: ctx.arrival.payload };
      return { kind: 'continue', port: TIMED_OUT_PORT, output: { timedOut: true, event, key } };
    }
    const problem = eventFieldProblem('key', key);
    if (problem !== undefined) throw fatal(`The rendered correlation key is refused: ${problem}`, { key: key.slice(0, 300) });
    const until = new Date(ctx.services.clock.now().getTime() + durationMs(timeout));
    return {
      kind: 'wait',
      until,
      output: { event, key, until: until.toISOString() },
      for: { reason: 'event', name: event, key },
    };
  },
});
