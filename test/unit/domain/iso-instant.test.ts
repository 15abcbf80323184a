import { describe, expect, it } from 'vitest';
import { parseIsoInstant } from '../../../src/domain/iso-instant.js';

describe('parseIsoInstant', () => {
  it.each([
    ['a date is midnight UTC', '2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['Z', '2025-06-01T10:20:30Z', '2025-06-01T10:20:30.000Z'],
    ['lower-case t and z', '2025-06-01t10:20:30z', '2025-06-01T10:20:30.000Z'],
    ['a space for T', '2025-06-01 10:20', '2025-06-01T10:20:00.000Z'],
    ['no zone is UTC', '2025-06-01T10:20:30', '2025-06-01T10:20:30.000Z'],
    ['a positive offset', '2025-06-01T09:00:00+02:00', '2025-06-01T07:00:00.000Z'],
    ['a negative offset', '2025-06-01T21:30:00-05:30', '2025-06-02T03:00:00.000Z'],
    ['an offset without colon', '2025-06-01T09:00:00+0200', '2025-06-01T07:00:00.000Z'],
    ['an offset across a date', '2025-01-01T00:30:00+01:00', '2024-12-31T23:30:00.000Z'],
    ['milliseconds', '2025-06-01T10:20:30.123Z', '2025-06-01T10:20:30.123Z'],
    ['a fraction of one digit', '2025-06-01T10:20:30.5Z', '2025-06-01T10:20:30.500Z'],
    ['nanoseconds (truncated)', '2025-06-01T10:20:30.123456789Z', '2025-06-01T10:20:30.123Z'],
    ['a year below 100 stays that year', '0050-03-01', '0050-03-01T00:00:00.000Z'],
    ['year 9999', '9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
    ['surrounding spaces', ' 2025-06-01 ', '2025-06-01T00:00:00.000Z'],
  ])('%s: %s', (_name, text, iso) => {
    expect(parseIsoInstant(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['30 February', '2024-02-30'],
    ['29 February of a common year', '2023-02-29'],
    ['29 February 1900 (not a leap year)', '1900-02-29'],
    ['31 April', '2025-04-31T10:00:00Z'],
    ['day 0', '2025-06-00'],
    ['month 0', '2025-00-10'],
    ['month 13', '2025-13-01'],
    ['hour 24', '2025-06-01T24:00:00Z'],
    ['minute 60', '2025-06-01T10:60:00Z'],
    ['second 60', '2025-06-01T10:00:60Z'],
    ['an offset of 24 hours', '2025-06-01T10:00:00+24:00'],
    ['offset minutes of 60', '2025-06-01T10:00:00+01:60'],
    ['a five-digit year', '10000-01-01'],
    ['a two-digit month', '2025-6-01'],
    ['a fraction of ten digits', '2025-06-01T10:00:00.1234567890Z'],
    ['a zone on a date alone', '2025-06-01Z'],
    ['a time without minutes', '2025-06-01T10Z'],
    ['words', 'next tuesday'],
    ['a timestamp', '1748772000000'],
    ['RFC 2822', 'Sun, 01 Jun 2025 10:00:00 GMT'],
    ['empty', ''],
  ])('refuses %s: %j', (_name, text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});
