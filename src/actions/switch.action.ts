import { z } from 'zod';
import {
  REGEX_PROGRAM_BUDGET,
  conditionRegexSize,
  conditionSchema,
  evaluateCondition,
  regexBudgetMessage,
} from '../domain/condition.js';
import { defineAction } from './action-definition.js';

/** The port taken when no case matches. */
export const SWITCH_DEFAULT_PORT = 'default';
const CASE_PORT_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const MAX_CASES = 50;

const switchConfigSchema = z
  .strictObject({
    cases: z
      .array(
        z.strictObject({
          port: z
            .string()
            .regex(CASE_PORT_PATTERN, 'Port names start with a letter and hold letters, digits and _')
            .refine((p) => p !== SWITCH_DEFAULT_PORT, `'${SWITCH_DEFAULT_PORT}' is reserved`)
            .meta({
              title: 'Port',
              description: `The output port of this case: a letter, then letters, digits or _ (at most 32); not '${SWITCH_DEFAULT_PORT}'.`,
            }),
          when: conditionSchema.meta({ title: 'When', description: 'The condition that picks this case.' }),
        }),
      )
      .min(1)
      .max(MAX_CASES)
      .meta({
        title: 'Cases',
        description: `Tried in order: the first whose condition holds picks its port, else '${SWITCH_DEFAULT_PORT}'.`,
      }),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.cases.forEach((c, i) => {
      if (seen.has(c.port)) ctx.addIssue({ code: 'custom', path: ['cases', i, 'port'], message: `Port '${c.port}' is used twice` });
      seen.add(c.port);
    });
    // Every case may be evaluated on one run, so the regex budget is the step's, not each case's.
    const regexSize = config.cases.reduce((sum, c) => sum + conditionRegexSize(c.when), 0);
    if (regexSize > REGEX_PROGRAM_BUDGET) ctx.addIssue({ code: 'custom', path: ['cases'], message: regexBudgetMessage(regexSize) });
  });

/** Takes the port of the first case whose condition holds, else `default`. */
export const switchAction = defineAction({
  type: 'switch',
  category: 'logic',
  displayName: 'Switch',
  description: 'Continues on the port of the first matching case, or on "default".',
  config: switchConfigSchema,
  ports: (config) => [
    ...config.cases.map((c) => ({ name: c.port, required: true })),
    { name: SWITCH_DEFAULT_PORT, required: false },
  ],
  async run(ctx) {
    const match = ctx.config.cases.find((c) => evaluateCondition(c.when, ctx.context));
    const port = match?.port ?? SWITCH_DEFAULT_PORT;
    return { kind: 'continue', port, output: { port } };
  },
});
