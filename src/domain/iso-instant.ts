/**
 * The ISO-8601 (RFC 3339) forms accepted wherever a config or a condition names a point in time:
 * `YYYY-MM-DD`, optionally followed by `T` (or a space), `HH:MM`, optional `:SS` and `.fraction`
 * (up to 9 digits), and a zone `Z` or `±HH:MM` (`±HHMM`). A date alone is midnight UTC, and so is
 * a time without a zone read as UTC, whatever the server's time zone.
 */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?)?$/i;

const MINUTE_MS = 60_000;

/**
 * The instant `text` names, or `undefined` when it is not one of the forms above or not on the
 * calendar: unlike `Date.parse`, `2024-02-30` is refused rather than read as 1 March, and so are
 * hour 24, minute or second 60, and zone offsets of 24 hours or more.
 */
export const parseIsoInstant = (text: string): Date | undefined => {
  const m = ISO_INSTANT.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, offH = '0', offM = '0'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(offH);
  const offsetMinutes = Number(offM);
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;

  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // The calendar date round-trips only if it exists: 2024-02-30 would come back as 03-01.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;

  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  date.setUTCHours(hour, minute, second, millis);
  return new Date(date.getTime() - offset * MINUTE_MS);
};
