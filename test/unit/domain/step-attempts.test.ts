import { describe, expect, test } from 'vitest';
import type { JsonObject } from '../../../src/domain/json.js';
import { stepAttempts, type StepAttemptEvent } from '../../../src/domain/step-attempts.js';

/** A step run's log: `[event, detail?]` entries, one second apart. */
const log = (...entries: [string, JsonObject?][]): StepAttemptEvent[] =>
  entries.map(([event, detail], i) => ({ event, detail: detail ?? null, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) }));
const second = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i));
/** [number, status, error code, HTTP status, started at (s), finished at (s)] */
const rows = (events: StepAttemptEvent[]) =>
  stepAttempts(events).map((a) => [
    a.number,
    a.status,
    a.error?.code ?? null,
    a.error?.httpStatus ?? null,
    a.startedAt.getUTCSeconds(),
    a.finishedAt?.getUTCSeconds() ?? null,
  ]);
const http503 = { reason: 'HTTP 503 from crm', code: 'HTTP_503', status: 503 };

describe('the attempts of a step run, from its log', () => {
  test.each<[string, StepAttemptEvent[], unknown[]]>([
    ['scheduled, not started yet', log(['schedule']), []],
    ['running', log(['schedule'], ['start']), [[1, 'RUNNING', null, null, 1, null]]],
    ['succeeded at once', log(['schedule'], ['start'], ['succeed']), [[1, 'SUCCEEDED', null, null, 1, 2]]],
    [
      'failed twice, then succeeded',
      log(['schedule'], ['start'], ['retry', { ...http503, retryAt: second(3).toISOString() }], ['start'], ['retry', http503], ['start'], ['succeed']),
      [
        [1, 'FAILED', 'HTTP_503', 503, 1, 2],
        [2, 'FAILED', 'HTTP_503', 503, 3, 4],
        [3, 'SUCCEEDED', null, null, 5, 6],
      ],
    ],
    [
      'a delay: the resume goes on with the attempt that began waiting',
      log(['schedule'], ['start'], ['wait', { until: 'x' }], ['resume', { resumed: true }], ['succeed']),
      [[1, 'SUCCEEDED', null, null, 1, 4]],
    ],
    [
      'a delay logged before `resume` existed (a start marked resumed)',
      log(['schedule'], ['start'], ['wait'], ['start', { resumed: true }], ['succeed']),
      [[1, 'SUCCEEDED', null, null, 1, 4]],
    ],
    ['waiting', log(['schedule'], ['start'], ['wait']), [[1, 'WAITING', null, null, 1, null]]],
    [
      'failed, retryInstance, then succeeded: numbering goes on',
      log(['schedule'], ['start'], ['fail', http503], ['reschedule'], ['start'], ['succeed']),
      [
        [1, 'FAILED', 'HTTP_503', 503, 1, 2],
        [2, 'SUCCEEDED', null, null, 4, 5],
      ],
    ],
    [
      'a lost worker and a stopping one: attempts of their own, without the step failing',
      log(['schedule'], ['start'], ['lose', { reason: 'the worker stopped responding (1 time)' }], ['start'], ['release', { reason: 'stopping' }], ['start'], ['succeed']),
      [
        [1, 'LOST', 'WORKER_LOST', null, 1, 2],
        [2, 'HANDED_BACK', 'WORKER_STOPPED', null, 3, 4],
        [3, 'SUCCEEDED', null, null, 5, 6],
      ],
    ],
    [
      'failed by the sweep after lost workers',
      log(['start'], ['lose'], ['start'], ['fail', { reason: 'the worker stopped responding (2 times)', code: 'WORKER_LOST' }]),
      [
        [1, 'LOST', 'WORKER_LOST', null, 0, 1],
        [2, 'LOST', 'WORKER_LOST', null, 2, 3],
      ],
    ],
    ['cancelled while waiting', log(['start'], ['wait'], ['cancel']), [[1, 'CANCELLED', null, null, 0, 2]]],
    ['cancelled between attempts: none is open', log(['start'], ['retry', http503], ['cancel']), [[1, 'FAILED', 'HTTP_503', 503, 0, 1]]],
    ['a failure logged before codes were', log(['start'], ['fail', { reason: 'down' }]), [[1, 'FAILED', null, null, 0, 1]]],
  ])('%s', (_name, events, expected) => {
    expect(rows(events)).toEqual(expected);
  });

  test('a failed attempt carries its message and, when another followed, when that was due', () => {
    const [first, last] = stepAttempts(log(['start'], ['retry', { ...http503, retryAt: second(9).toISOString() }], ['start'], ['fail', http503]));
    expect(first).toMatchObject({ error: { message: 'HTTP 503 from crm', code: 'HTTP_503', httpStatus: 503 }, retryAt: second(9) });
    expect(last).toMatchObject({ number: 2, retryAt: null });
  });
});
