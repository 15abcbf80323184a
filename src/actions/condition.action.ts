import { z } from 'zod';
import { CONDITION_MAX_DEPTH, CONDITION_MAX_NODES, conditionSchema, evaluateCondition } from '../domain/condition.js';
import { defineAction } from './action-definition.js';

/** Takes the `true` or the `false` port depending on a condition over the run context. */
export const conditionAction = defineAction({
  type: 'condition',
  category: 'logic',
  displayName: 'Condition',
  description: 'Continues on "true" or "false" depending on a condition.',
  config: z.strictObject({
    when: conditionSchema.meta({
      title: 'When',
      description: `The condition: the step continues on "true" when it holds, else on "false". Nested at most ${CONDITION_MAX_DEPTH} deep, with at most ${CONDITION_MAX_NODES} parts.`,
    }),
  }),
  ports: [
    { name: 'true', required: true },
    { name: 'false', required: true },
  ],
  async run(ctx) {
    const result = evaluateCondition(ctx.config.when, ctx.context);
    return { kind: 'continue', port: result ? 'true' : 'false', output: { result } };
  },
});
