import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { parseIsoInstant } from '../domain/iso-instant.js';
import { isTemplate } from '../domain/template.js';
import type { ActionResult } from '../ports/action.port.js';
import { defineAction } from './action-definition.js';
import { fatal } from '../domain/action-error.js';
import { templateString } from './config-fields.js';

export const UNIT_MS = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
} as const;
const DELAY_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export type DelayUnit = (typeof DELAY_UNITS)[number];

/** Longest wait, whether given as a duration or as a point in time. */
export const MAX_DELAY_MS = 365 * UNIT_MS.days;

const INSTANT_FORMS = 'YYYY-MM-DD, optionally THH:MM[:SS[.fff]] and Z or ±HH:MM';

/** One schema per unit, so that the JSON Schema carries each unit's own maximum. */
const durationIn = <U extends DelayUnit>(unit: U) =>
  z.strictObject({
    amount: z
      .int()
      .min(1)
      .max(MAX_DELAY_MS / UNIT_MS[unit])
      .meta({ title: 'Amount', description: `How many ${unit} to wait.` }),
    unit: z.literal(unit).meta({ title: 'Unit', description: 'seconds, minutes, hours or days.' }),
  });

/** A duration of at most 365 days, `{ amount, unit }`; shared by the steps that wait. */
export const durationField = (meta: { title: string; description: string }) =>
  z.discriminatedUnion('unit', [durationIn('seconds'), durationIn('minutes'), durationIn('hours'), durationIn('days')]).meta(meta);

/** A parsed duration in milliseconds. */
export const durationMs = (duration: { amount: number; unit: DelayUnit }): number => duration.amount * UNIT_MS[duration.unit];

const durationSchema = durationField({
  title: 'Duration',
  description: 'Wait this long after the step is reached, at most 365 days. Set this or until.',
});

const untilSchema = templateString({ min: 1, max: 500 })
  .superRefine((until, ctx) => {
    if (isTemplate(until)) return;
    const at = parseIsoInstant(until);
    if (at === undefined) {
      ctx.addIssue({ code: 'custom', message: `Not a date: expected an ISO-8601 date or date-time on the calendar (${INSTANT_FORMS})` });
    } else if (at.getTime() - Date.now() > MAX_DELAY_MS) {
      // Measured from when the config is checked (saved, published, run): time only moves on, so
      // a config valid when it was saved stays valid.
      ctx.addIssue({ code: 'custom', message: 'Must be at most 365 days from now' });
    }
  })
  .meta({
    title: 'Until',
    description: `Wait until this instant (${INSTANT_FORMS}; no zone is UTC), at most 365 days away; or a template such as {{ trigger.appointmentAt }}, checked when the step runs. Set this or duration.`,
  });

const delayConfigSchema = z
  .strictObject({
    duration: durationSchema.optional(),
    until: untilSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if ((config.duration === undefined) === (config.until === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'Set exactly one of duration or until' });
    }
  });

/**
 * Pauses the path: returns `wait` until the due time, or `continue` at once when that time has
 * passed. On resume (`resumedAfterWait`) it continues without computing a new due time, so a
 * duration is never waited twice.
 */
export const delayAction = defineAction({
  type: 'delay',
  category: 'logic',
  displayName: 'Delay',
  description: 'Waits for a duration or until a date and time, then continues.',
  config: delayConfigSchema,
  ports: [{ name: NEXT_PORT, required: false }],
  async run(ctx): Promise<ActionResult> {
    const now = ctx.services.clock.now();
    if (ctx.resumedAfterWait) {
      return { kind: 'continue', port: NEXT_PORT, output: { resumedAt: now.toISOString() } };
    }
    const { duration, until } = ctx.config;
    let due: Date;
    if (duration !== undefined) {
      due = new Date(now.getTime() + duration.amount * UNIT_MS[duration.unit]);
    } else if (until !== undefined) {
      const rendered = ctx.render(until);
      const parsed = parseIsoInstant(rendered);
      if (parsed === undefined) {
        throw fatal(`Delay time '${rendered.slice(0, 100)}' is not an ISO-8601 date or date-time on the calendar (${INSTANT_FORMS})`, {
          until: rendered.slice(0, 500),
        });
      }
      if (parsed.getTime() - now.getTime() > MAX_DELAY_MS) {
        throw fatal('Delay time is more than 365 days away', { until: parsed.toISOString() });
      }
      due = parsed;
    } else {
      throw fatal('Set exactly one of duration or until');
    }
    if (due.getTime() <= now.getTime()) {
      return { kind: 'continue', port: NEXT_PORT, output: { until: due.toISOString(), waited: false } };
    }
    return { kind: 'wait', until: due, output: { until: due.toISOString() } };
  },
});
