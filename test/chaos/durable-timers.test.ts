import { test } from 'vitest';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { durableTimers } from './durable-timers.scenario.js';

describeChaos('chaos: durable timers across a worker kill -9', () => {
  test('100 timers: none early, none twice, lateness p99 within 2 s', { timeout: 150_000 }, async () => {
    expectTargets(await durableTimers({ size: 100 }));
  });
});
