import { describe, expect, it } from 'vitest';
import { ActionRegistry } from '../../../src/actions/action-registry.js';
import { builtinActions } from '../../../src/actions/builtin-actions.js';
import { triggerScheduleAction } from '../../../src/actions/trigger-schedule.action.js';
import { scheduleIssue } from '../../../src/domain/schedule-rules.js';
import { makeContext, runStep } from './action-test-kit.js';

const issuesOf = (config: unknown) => {
  const check = triggerScheduleAction.checkConfig(config);
  return check.ok ? [] : check.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('trigger.schedule config', () => {
  it('fills in the defaults and the canonical zone name', () => {
    expect(triggerScheduleAction.checkConfig({ cron: ' 0 9 * * 1-5 ', timeZone: 'europe/berlin' })).toEqual({
      ok: true,
      config: { cron: '0 9 * * 1-5', timeZone: 'Europe/Berlin', missedTicks: 'skip' },
    });
    expect(triggerScheduleAction.checkConfig({ every: { amount: 5, unit: 'minutes' }, missedTicks: 'runOnce' })).toEqual({
      ok: true,
      config: { every: { amount: 5, unit: 'minutes' }, timeZone: 'UTC', missedTicks: 'runOnce' },
    });
  });

  it.each([
    [{}, 'cron: Set exactly one of cron or every'],
    [{ cron: '0 9 * * *', every: { amount: 1, unit: 'hours' } }, 'every: Set exactly one of cron or every'],
    [{ cron: 'every monday' }, 'cron: A cron expression has 5 fields'],
    [{ cron: '61 * * * *' }, 'cron: Invalid cron expression'],
    [{ cron: '0 0 30 2 *' }, 'cron: The cron expression never fires'],
    [{ cron: '0 9 * * *', timeZone: 'Europe/Atlantis' }, "timeZone: Unknown time zone 'Europe/Atlantis'"],
    [{ cron: '0 9 * * *', timeZone: '+02:00' }, "timeZone: Unknown time zone '+02:00'"],
    [{ every: { amount: 0, unit: 'seconds' } }, 'every.amount:'],
    [{ every: { amount: 400, unit: 'days' } }, 'every.amount:'],
    [{ cron: '0 9 * * *', missedTicks: 'all' }, 'missedTicks:'],
    [{ cron: '0 9 * * *', at: 'noon' }, 'at: Unknown field'],
  ])('%j is refused at its field', (config, expected) => {
    const issues = issuesOf(config);
    expect(issues.some((i) => i.startsWith(expected)), JSON.stringify(issues)).toBe(true);
  });

  it('the deployment minimum is checked against the valid config, naming the field that sets the ticks', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const rules = { minIntervalMs: 60_000 };
    const check = (config: object) => {
      const parsed = triggerScheduleAction.checkConfig(config);
      if (!parsed.ok) throw new Error('invalid');
      return scheduleIssue(triggerScheduleAction, parsed.config, rules, now);
    };
    expect(check({ cron: '*/30 * * * * *' })).toEqual({ path: 'cron', message: expect.stringMatching(/every 30 s/) });
    expect(check({ every: { amount: 10, unit: 'seconds' } })).toEqual({ path: 'every', message: expect.stringMatching(/every 10 s/) });
    expect(check({ cron: '* * * * *' })).toBeUndefined();
    expect(check({ every: { amount: 1, unit: 'minutes' } })).toBeUndefined();
  });

  it('is a trigger started on a schedule, listed by the registry', () => {
    const registry = new ActionRegistry(builtinActions);
    expect(registry.startOf('trigger.schedule')?.kind).toBe('schedule');
    expect(triggerScheduleAction.schedule?.({ cron: 'not a cron' })).toBeUndefined();
    const schedule = triggerScheduleAction.schedule?.({ cron: '0 9 * * *', timeZone: 'Europe/Berlin', missedTicks: 'skip' });
    expect(schedule?.next(new Date('2026-07-01T00:00:00Z'))?.toISOString()).toBe('2026-07-01T07:00:00.000Z');
  });

  it('passes the tick input on to next', async () => {
    const input = { tickAt: '2026-07-01T07:00:00.000Z', localTime: '2026-07-01T09:00:00+02:00', timeZone: 'Europe/Berlin', missed: null };
    expect(await runStep(triggerScheduleAction, { cron: '0 9 * * *' }, { context: makeContext(input) })).toEqual({
      kind: 'continue',
      port: 'next',
      output: input,
    });
  });
});
