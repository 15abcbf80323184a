import { z } from 'zod';
import { NEXT_PORT } from '../domain/graph.js';
import { MISSED_TICK_POLICIES, type Schedule } from '../domain/schedule.js';
import { canonicalTimeZone, cronSchedule, intervalSchedule, parseCron } from '../domain/schedule-spec.js';
import { defineAction } from './action-definition.js';
import { TRIGGER_PORTS } from './trigger-ports.js';

const UNIT_MS = { seconds: 1_000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 } as const;
type IntervalUnit = keyof typeof UNIT_MS;
/** Longest interval: a year of days. */
const MAX_INTERVAL_MS = 366 * UNIT_MS.days;

/** One schema per unit, so that the JSON Schema carries each unit's own maximum. */
const intervalIn = <U extends IntervalUnit>(unit: U) =>
  z.strictObject({
    amount: z
      .int()
      .min(1)
      .max(MAX_INTERVAL_MS / UNIT_MS[unit])
      .meta({ title: 'Amount', description: `How many ${unit} between two ticks.` }),
    unit: z.literal(unit).meta({ title: 'Unit', description: 'seconds, minutes, hours or days.' }),
  });

const everySchema = z
  .discriminatedUnion('unit', [intervalIn('seconds'), intervalIn('minutes'), intervalIn('hours'), intervalIn('days')])
  .meta({
    title: 'Every',
    description:
      'Tick at a fixed interval, at the multiples of it since 1970-01-01T00:00Z (so every 15 minutes is :00, :15, :30, :45 UTC). Set this or cron.',
  });

const timeZoneSchema = z
  .string()
  .max(100)
  .transform((name, ctx) => {
    const canonical = canonicalTimeZone(name);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: `Unknown time zone '${name}': use an IANA zone name such as Europe/Berlin or America/New_York` });
      return z.NEVER;
    }
    return canonical;
  })
  .default('UTC')
  .meta({ title: 'Time zone', description: 'The IANA time zone the cron fields are read in (daylight saving included). Default UTC.' });

/** Config of `trigger.schedule`: exactly one of `cron` and `every`. */
export const scheduleConfigSchema = z
  .strictObject({
    cron: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .meta({
        title: 'Cron expression',
        description:
          'minute hour day-of-month month day-of-week (e.g. 0 9 * * 1-5: 09:00 on weekdays), optionally with seconds first; read in timeZone. Set this or every.',
      })
      .optional(),
    every: everySchema.optional(),
    timeZone: timeZoneSchema,
    missedTicks: z.enum(MISSED_TICK_POLICIES).default('skip').meta({
      title: 'Missed ticks',
      description:
        'After downtime, when ticks were not fired in time: skip drops them, runOnce starts one instance for all of them (its input says which).',
    }),
  })
  .superRefine((config, ctx) => {
    if ((config.cron === undefined) === (config.every === undefined)) {
      ctx.addIssue({ code: 'custom', path: [config.cron === undefined ? 'cron' : 'every'], message: 'Set exactly one of cron or every' });
      return;
    }
    if (config.cron === undefined) return;
    const parsed = parseCron(config.cron, config.timeZone);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: parsed.message });
    } else if (scheduleOf(config).next(new Date()) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'The cron expression never fires (no date matches it)' });
    }
  });
export type ScheduleConfig = z.infer<typeof scheduleConfigSchema>;

/** The ticks of a valid config. */
export const scheduleOf = ({ cron, every, timeZone, missedTicks }: ScheduleConfig): Schedule => {
  if (cron !== undefined) return cronSchedule({ expression: cron, timeZone, missedTicks });
  if (every !== undefined) return intervalSchedule({ everyMs: every.amount * UNIT_MS[every.unit], missedTicks });
  throw new Error('A schedule config sets cron or every');
};

/**
 * Starts a run at every tick of a cron expression or an interval. Its input is the tick (see
 * `scheduleTickInput`); the trigger passes it on as its output.
 */
export const triggerScheduleAction = defineAction({
  type: 'trigger.schedule',
  category: 'trigger',
  displayName: 'Schedule',
  description: 'Starts the workflow on a schedule: a cron expression in a time zone, or a fixed interval.',
  config: scheduleConfigSchema,
  ports: TRIGGER_PORTS,
  start: { kind: 'schedule', schedule: scheduleOf },
  async run(ctx) {
    return { kind: 'continue', port: NEXT_PORT, output: ctx.context.trigger };
  },
});
