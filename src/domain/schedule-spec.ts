import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { LRUCache } from 'lru-cache';
import type { MissedTickPolicy, Schedule } from './schedule.js';

/**
 * The canonical name of an IANA time zone (`europe/berlin` → `Europe/Berlin`), or undefined for a
 * name the runtime's time-zone database does not know. Offsets (`+02:00`) and abbreviations
 * (`CEST`) are not zone names: they know nothing of daylight-saving changes.
 */
export const canonicalTimeZone = (name: string): string | undefined => {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  return zoneFormat(name)?.resolvedOptions().timeZone;
};

/**
 * One formatter per zone name, made once: `new Intl.DateTimeFormat` costs about 70 µs, and every
 * schedule tick checks its zone and writes its local time (a thousand same-second ticks spent a
 * few hundred ms of a worker's CPU making formatters). Bounded, since names come from users;
 * null for a name the runtime does not know.
 */
const zoneFormats = new LRUCache<string, { format: Intl.DateTimeFormat | null }>({ max: 1_000 });

function zoneFormat(name: string): Intl.DateTimeFormat | null {
  const known = zoneFormats.get(name);
  if (known) return known.format;
  let format: Intl.DateTimeFormat | null = null;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
  } catch {
    // not a zone this runtime knows
  }
  zoneFormats.set(name, { format });
  return format;
}

type ParsedCron = { ok: true; cron: CronExpression } | { ok: false; message: string };

/**
 * Parsed expressions and their schedules, kept by expression and zone: parsing one takes about
 * 270 µs, and a thousand workflows on the same cron were each parsed on their first tick (a cold
 * minute's burst spent half a second of a worker's CPU in the parser). Sharing is safe: every use
 * of a parsed expression resets it to its starting point first, without awaiting in between.
 */
const parsedCrons = new LRUCache<string, ParsedCron>({ max: 1_000 });
const cronSchedules = new LRUCache<string, Schedule>({ max: 1_000 });

/** Parses a cron expression read in `timeZone`; the parser's own message when it is not one. */
export const parseCron = (expression: string, timeZone: string): ParsedCron => {
  const key = `${expression}\u0000${timeZone}`;
  let parsed = parsedCrons.get(key);
  if (!parsed) {
    parsed = parseCronOnce(expression, timeZone);
    parsedCrons.set(key, parsed);
  }
  return parsed;
};

const parseCronOnce = (expression: string, timeZone: string): ParsedCron => {
  const fields = expression.trim().split(/\s+/);
  if (!expression.trim().startsWith('@') && (fields.length < 5 || fields.length > 6)) {
    return { ok: false, message: 'A cron expression has 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first' };
  }
  try {
    return { ok: true, cron: CronExpressionParser.parse(expression.trim(), { tz: timeZone, currentDate: new Date(0) }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The parser refuses days no month it names has (30 February) with this message.
    if (/explicit day of month/i.test(message)) return { ok: false, message: 'The cron expression never fires: no month it names has that day' };
    return { ok: false, message: `Invalid cron expression: ${message}` };
  }
};

const DAY_S = 86_400;

/** The numbers of a field, sorted; undefined when it holds something else (`L`, `5L`). */
const numbersOf = (values: readonly (number | string)[]): number[] | undefined =>
  values.every((v): v is number => typeof v === 'number') ? [...values].sort((a, b) => a - b) : undefined;

const minDiff = (sorted: readonly number[]): number => {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 1; i < sorted.length; i++) least = Math.min(least, sorted[i]! - sorted[i - 1]!);
  return least;
};

/**
 * Whether two calendar days in a row can both fire. Exact for a day-of-week or a day-of-month
 * list alone; yes whenever in doubt (both restricted, `L`, `W`), which only makes the gap
 * computed shorter.
 */
const consecutiveDays = (cron: CronExpression): boolean => {
  const { dayOfMonth, dayOfWeek } = cron.fields;
  if (dayOfMonth.isWildcard === dayOfWeek.isWildcard) return true;
  if (!dayOfWeek.isWildcard) {
    const days = numbersOf(dayOfWeek.values);
    if (days === undefined) return true;
    const week = new Set(days.map((d) => d % 7));
    return [...week].some((d) => week.has((d + 1) % 7));
  }
  const days = numbersOf(dayOfMonth.values);
  if (days === undefined) return true;
  const month = new Set(days);
  // A month's last day is followed by the next month's first.
  return days.some((d) => month.has(d + 1)) || (month.has(1) && days.some((d) => d >= 28));
};

/**
 * The shortest gap, in ms, between two wall-clock times a cron expression fires at: exact within a
 * day (seconds, minutes and hours in a row), and across midnight when days in a row can fire; two
 * days less the day's span otherwise (a lower bound of a day or more).
 */
const cronShortestGap = (cron: CronExpression): number => {
  const { second, minute, hour } = cron.fields;
  const s = [...second.values].sort((a, b) => a - b);
  const m = [...minute.values].sort((a, b) => a - b);
  const h = [...hour.values].sort((a, b) => a - b);
  const sSpan = s.at(-1)! - s[0]!;
  const hourSpan = m.at(-1)! * 60 + s.at(-1)! - (m[0]! * 60 + s[0]!);
  const daySpan = (h.at(-1)! - h[0]!) * 3_600 + hourSpan;
  const gaps = [
    minDiff(s),
    minDiff(m) * 60 - sSpan,
    minDiff(h) * 3_600 - hourSpan,
    (consecutiveDays(cron) ? DAY_S : 2 * DAY_S) - daySpan,
  ];
  return Math.min(...gaps) * 1_000;
};

/**
 * The ticks of a cron expression in an IANA time zone: wall-clock times of that zone, so `0 9 * * *`
 * is 09:00 there in summer and in winter. Across daylight-saving changes each wall-clock time that
 * exists fires once: a time in the hour skipped in spring fires at the same offset after the change
 * (02:30 becomes 03:30), and a time in the hour repeated in autumn fires once, at its first
 * occurrence. Schedules of every hour or finer keep firing at each real instant that matches.
 */
export const cronSchedule = (args: { expression: string; timeZone: string; missedTicks: MissedTickPolicy }): Schedule => {
  const key = `${args.expression}\u0000${args.timeZone}\u0000${args.missedTicks}`;
  let schedule = cronSchedules.get(key);
  if (!schedule) {
    schedule = cronScheduleOnce(args);
    cronSchedules.set(key, schedule);
  }
  return schedule;
};

const cronScheduleOnce = (args: { expression: string; timeZone: string; missedTicks: MissedTickPolicy }): Schedule => {
  const parsed = parseCron(args.expression, args.timeZone);
  if (!parsed.ok) throw new Error(parsed.message);
  const cron = parsed.cron;
  const step = (from: Date, direction: 'next' | 'prev'): Date | undefined => {
    try {
      cron.reset(from);
      return direction === 'next' ? cron.next().toDate() : cron.prev().toDate();
    } catch {
      // No matching time within the parser's search range: a date that never exists (30 February).
      return undefined;
    }
  };
  return {
    field: 'cron',
    timeZone: args.timeZone,
    missedTicks: args.missedTicks,
    shortestGapMs: cronShortestGap(cron),
    next: (after) => step(after, 'next'),
    latestAtOrBefore: (at) => {
      // The parser's backward search misses a time it moves forward across a spring change
      // (02:30 fired at 03:30): step forward from its answer to the ticks `next` knows.
      let latest = step(new Date(at.getTime() + 1), 'prev');
      for (let ahead = latest && step(latest, 'next'); ahead && ahead.getTime() <= at.getTime(); ahead = step(ahead, 'next')) latest = ahead;
      return latest;
    },
  };
};

/**
 * Ticks every `everyMs`, at the multiples of it since 1970-01-01T00:00Z: the same instants in every
 * process and after every publish, whatever the time zone (an interval is a length of time; wall-clock
 * times, which move with daylight saving, are what cron is for).
 */
export const intervalSchedule = (args: { everyMs: number; missedTicks: MissedTickPolicy }): Schedule => {
  const every = args.everyMs;
  if (!Number.isSafeInteger(every) || every < 1) throw new Error('An interval is a positive whole number of milliseconds');
  return {
    field: 'every',
    timeZone: 'UTC',
    missedTicks: args.missedTicks,
    shortestGapMs: every,
    next: (after) => new Date((Math.floor(after.getTime() / every) + 1) * every),
    latestAtOrBefore: (at) => new Date(Math.floor(at.getTime() / every) * every),
  };
};

/**
 * `at` as the wall-clock time of `timeZone` with its offset there, `2026-03-29T03:30:00+02:00`
 * (whole seconds; `Z` is written `+00:00`).
 */
export const localIsoTime = (at: Date, timeZone: string): string => {
  const format = zoneFormat(timeZone);
  if (!format) throw new RangeError(`Invalid time zone specified: ${timeZone}`);
  const parts = format.formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  // `GMT+02:00`, or `GMT` alone at offset zero.
  const offset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
};
