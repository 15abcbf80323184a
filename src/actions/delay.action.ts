import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { isTemplate } from '../domain/template.js';
import { defineAction, type ActionResult } from './action-definition.js';
import { fatal } from './action-error.js';
import { templateString } from './config-fields.js';

const UNIT_MS = {
  seconds: 1_000,
  minutes: 60_000,
  hours: 3_600_000,
  days: 86_400_000,
} as const;
const DELAY_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export type DelayUnit = (typeof DELAY_UNITS)[number];

/** Longest wait, whether given as a duration or as a point in time. */
export const MAX_DELAY_MS = 365 * UNIT_MS.days;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/** An ISO-8601 date or date-time as an instant, or `undefined`. A date without time is midnight UTC. */
const parseIsoInstant = (s: string): Date | undefined => {
  const trimmed = s.trim();
  if (!ISO_INSTANT.test(trimmed)) return undefined;
  const t = Date.parse(trimmed);
  return Number.isFinite(t) ? new Date(t) : undefined;
};

const delayConfigSchema = z
  .strictObject({
    /** Wait this long after the step is reached. */
    duration: z
      .strictObject({
        amount: z.int().min(1).max(MAX_DELAY_MS / UNIT_MS.seconds),
        unit: z.enum(DELAY_UNITS),
      })
      .refine((d) => d.amount * UNIT_MS[d.unit] <= MAX_DELAY_MS, 'A delay can be at most 365 days')
      .optional(),
    /** Wait until this ISO-8601 instant (a template, e.g. `{{ trigger.appointmentAt }}`). */
    until: templateString({ min: 1, max: 500 })
      .refine((s) => isTemplate(s) || parseIsoInstant(s) !== undefined, 'Must be an ISO-8601 date or date-time')
      .optional(),
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
      if (parsed === undefined) throw fatal('Delay time is not an ISO-8601 date or date-time', { until: rendered });
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
