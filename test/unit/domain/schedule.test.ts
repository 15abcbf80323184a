import { describe, expect, it } from 'vitest';
import { formatDuration, frequencyProblem, planTick, type MissedTickPolicy, type Schedule } from '../../../src/domain/schedule.js';
import { canonicalTimeZone, cronSchedule, intervalSchedule, localIsoTime, parseCron } from '../../../src/domain/schedule-spec.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();
const cron = (expression: string, timeZone = 'UTC', missedTicks: MissedTickPolicy = 'skip') => cronSchedule({ expression, timeZone, missedTicks });

/** The ticks strictly after `from` and before `to`, as ISO strings. */
const ticksBetween = (schedule: Schedule, from: string, to: string): string[] => {
  const out: string[] = [];
  for (let t = schedule.next(at(from)); t && t < at(to); t = schedule.next(t)) out.push(t.toISOString());
  return out;
};

describe('cron schedules across daylight-saving changes (explicit dates)', () => {
  // Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST → 02:00 CET (01:00Z).
  it('a daily time inside the hour skipped in spring fires once that day, at the same instant it would have had', () => {
    expect(ticksBetween(cron('30 2 * * *', 'Europe/Berlin'), '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('a daily time inside the hour repeated in autumn fires once that day', () => {
    expect(ticksBetween(cron('30 2 * * *', 'Europe/Berlin'), '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); the second (01:30Z, CET) does not fire
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('a daily time outside the changed hour keeps its wall-clock time: 09:00 in winter and in summer', () => {
    expect(ticksBetween(cron('0 9 * * *', 'Europe/Berlin'), '2026-03-28T00:00:00Z', '2026-03-30T23:00:00Z')).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('an hourly schedule fires at every real hour: none lost in spring, none doubled in autumn', () => {
    const hourly = cron('0 * * * *', 'Europe/Berlin');
    const spring = ticksBetween(hourly, '2026-03-28T23:30:00Z', '2026-03-29T03:30:00Z');
    expect(spring).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z', '2026-03-29T03:00:00.000Z']);
    const autumn = ticksBetween(hourly, '2026-10-24T23:30:00Z', '2026-10-25T03:30:00Z');
    expect(autumn).toEqual(['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z']);
    for (const ticks of [spring, autumn]) expect(new Set(ticks).size).toBe(ticks.length);
  });

  it('America/New_York: 2026-03-08 02:00 EST → 03:00 EDT and 2026-11-01 02:00 EDT → 01:00 EST', () => {
    expect(ticksBetween(cron('30 2 * * *', 'America/New_York'), '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z')).toEqual([
      '2026-03-08T07:30:00.000Z', // 02:30 does not exist: 03:30 EDT
      '2026-03-09T06:30:00.000Z',
    ]);
    expect(ticksBetween(cron('30 1 * * *', 'America/New_York'), '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z')).toEqual([
      '2026-11-01T05:30:00.000Z', // the first 01:30 (EDT) only
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('latestAtOrBefore is the newest tick at or before an instant, across a change too', () => {
    const daily = cron('30 2 * * *', 'Europe/Berlin');
    expect(iso(daily.latestAtOrBefore(at('2026-03-29T12:00:00Z')))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(daily.latestAtOrBefore(at('2026-03-29T01:30:00Z')))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(daily.latestAtOrBefore(at('2026-03-29T01:29:59Z')))).toBe('2026-03-28T01:30:00.000Z');
  });
});

describe('cron expressions', () => {
  it.each([
    ['0 9 * * 1-5', true],
    ['*/15 * * * *', true],
    ['0 */5 * * * *', true],
    ['@daily', true],
    ['every minute', false],
    ['61 * * * *', false],
    ['* * * *', false],
    ['* * * * * * *', false],
  ])('%s parses: %s', (expression, ok) => {
    expect(parseCron(expression, 'UTC').ok).toBe(ok);
  });

  it('one that matches no date never fires', () => {
    for (const never of ['0 0 30 2 *', '0 0 31 4,6 *']) {
      expect(parseCron(never, 'UTC')).toEqual({ ok: false, message: expect.stringMatching(/^The cron expression never fires/) });
    }
    expect(iso(cron('0 0 29 2 *').next(at('2026-01-01T00:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('seconds come first when there are six fields', () => {
    expect(ticksBetween(cron('*/20 * * * * *'), '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
    ]);
  });
});

describe('time zones', () => {
  it.each([
    ['Europe/Berlin', 'Europe/Berlin'],
    ['europe/berlin', 'Europe/Berlin'],
    ['UTC', 'UTC'],
    ['America/New_York', 'America/New_York'],
    ['Mars/Olympus_Mons', undefined],
    ['+02:00', undefined],
    ['', undefined],
  ])('%s → %s', (name, canonical) => {
    expect(canonicalTimeZone(name)).toBe(canonical);
  });

  it('a tick is written in its zone with the offset of that moment', () => {
    expect(localIsoTime(at('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:30:00+02:00');
    expect(localIsoTime(at('2026-03-28T01:30:00Z'), 'Europe/Berlin')).toBe('2026-03-28T02:30:00+01:00');
    expect(localIsoTime(at('2026-03-28T01:30:00Z'), 'UTC')).toBe('2026-03-28T01:30:00+00:00');
  });
});

describe('interval schedules', () => {
  it('tick at the multiples of the interval since the epoch, whatever the zone', () => {
    const every15 = intervalSchedule({ everyMs: 15 * 60_000, missedTicks: 'skip' });
    expect(ticksBetween(every15, '2026-03-29T00:50:00Z', '2026-03-29T01:31:00Z')).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:15:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    expect(iso(every15.latestAtOrBefore(at('2026-03-29T01:29:59Z')))).toBe('2026-03-29T01:15:00.000Z');
    expect(iso(every15.latestAtOrBefore(at('2026-03-29T01:30:00Z')))).toBe('2026-03-29T01:30:00.000Z');
  });
});

describe('frequency', () => {
  const now = at('2026-01-01T00:00:00Z');
  const MIN = 60_000;
  const HOUR = 3_600_000;
  const DAY = 86_400_000;
  it.each([
    ['* * * * *', MIN],
    ['*/10 * * * * *', 10_000],
    ['0,1 9 * * *', MIN],
    ['0 9 * * *', DAY],
    ['0 9 * * 1-5', DAY],
    ['0 */4 * * *', 4 * HOUR],
    ['30 0,23 * * *', HOUR], // 23:30 → 00:30 the next day
    ['30 0,23 * * 1,3', 23 * HOUR], // 00:30 → 23:30; no two days in a row
    ['30 0,23 * * 1,4', 23 * HOUR],
    ['30 1,2 * * 1,3', HOUR],
    ['0 59 23 * * *', DAY],
    ['0 0,59 0,23 * * *', MIN], // 23:59 → 00:00 the next day
    ['0 12 1,2 * *', DAY],
    ['0 12 1,15 * *', 2 * DAY], // no two days in a row: counted as two days less the day's span
    ['0 12 * * 5#2', 2 * DAY],
  ])('%s: shortest gap %i ms (or less)', (expression, gap) => {
    expect(cron(expression).shortestGapMs).toBe(gap);
  });

  it('the computed gap is the shortest among the next ticks, or less', () => {
    for (const [expression, exact] of [
      ['*/7 * * * *', true],
      ['0 8-18/3 * * 1-5', true],
      ['15,45 */2 * * *', true],
      ['0 0,30 9 * * 6,0', true],
      ['0 9 L * *', false],
    ] as const) {
      const schedule = cron(expression);
      let previous = schedule.next(now)!;
      let shortest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 60; i++) {
        const tick = schedule.next(previous)!;
        shortest = Math.min(shortest, tick.getTime() - previous.getTime());
        previous = tick;
      }
      if (exact) expect(shortest, expression).toBe(schedule.shortestGapMs);
      else expect(shortest, expression).toBeGreaterThanOrEqual(schedule.shortestGapMs);
    }
  });

  it('a schedule faster than the minimum is refused, naming both', () => {
    expect(frequencyProblem(cron('*/10 * * * * *'), { minIntervalMs: 60_000, now })).toBe(
      'The schedule fires every 10 s at times; this server allows at most one tick per 1 min',
    );
    expect(frequencyProblem(cron('* * * * *'), { minIntervalMs: 60_000, now })).toBeUndefined();
    expect(frequencyProblem(intervalSchedule({ everyMs: 30_000, missedTicks: 'skip' }), { minIntervalMs: 60_000, now })).toMatch(/every 30 s/);
  });

  it('formats durations for messages', () => {
    expect([formatDuration(1_500), formatDuration(90_000), formatDuration(7_200_000), formatDuration(86_400_000)]).toEqual(['1.5 s', '1.5 min', '2 h', '1 days']);
  });
});

describe('planTick', () => {
  const hourly = (missedTicks: MissedTickPolicy) => cron('0 * * * *', 'UTC', missedTicks);
  const lateAfterMs = 60_000;

  it.each(['skip', 'runOnce'] as const)('%s: a tick reached within the lateness bound fires, and the next is stored', (policy) => {
    const plan = planTick({ schedule: hourly(policy), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T10:00:59Z'), lateAfterMs });
    expect({ fire: iso(plan.fire?.tickAt), missed: plan.fire?.missed, next: iso(plan.next) }).toEqual({
      fire: '2026-01-01T10:00:00.000Z',
      missed: undefined,
      next: '2026-01-01T11:00:00.000Z',
    });
  });

  it('skip: after downtime the missed ticks are dropped, and the first one after them is stored', () => {
    const plan = planTick({ schedule: hourly('skip'), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T13:30:00Z'), lateAfterMs });
    expect({ fire: plan.fire, next: iso(plan.next) }).toEqual({ fire: undefined, next: '2026-01-01T14:00:00.000Z' });
  });

  it('runOnce: after downtime one instance stands for all the missed ticks, keyed by the oldest', () => {
    const plan = planTick({ schedule: hourly('runOnce'), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T13:30:00Z'), lateAfterMs });
    expect({ fire: iso(plan.fire?.tickAt), from: iso(plan.fire?.missed?.from), until: iso(plan.fire?.missed?.until), next: iso(plan.next) }).toEqual({
      fire: '2026-01-01T10:00:00.000Z',
      from: '2026-01-01T10:00:00.000Z',
      until: '2026-01-01T13:00:00.000Z',
      next: '2026-01-01T14:00:00.000Z',
    });
  });

  it('a tick that is missed while the next one is not yet late: that one is stored, and fires on time', () => {
    const plan = planTick({ schedule: hourly('skip'), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T11:00:30Z'), lateAfterMs });
    expect({ fire: plan.fire, next: iso(plan.next) }).toEqual({ fire: undefined, next: '2026-01-01T11:00:00.000Z' });
    const then = planTick({ schedule: hourly('skip'), due: plan.next!, now: at('2026-01-01T11:00:30Z'), lateAfterMs });
    expect(iso(then.fire?.tickAt)).toBe('2026-01-01T11:00:00.000Z');
  });

  it('the same due tick planned again later (a fire repeated by another worker) keeps its key', () => {
    const first = planTick({ schedule: hourly('runOnce'), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T13:30:00Z'), lateAfterMs });
    const again = planTick({ schedule: hourly('runOnce'), due: at('2026-01-01T10:00:00Z'), now: at('2026-01-01T14:30:00Z'), lateAfterMs });
    expect(iso(again.fire?.tickAt)).toBe(iso(first.fire?.tickAt));
  });
});
