import { test } from 'vitest';
import { describeChaos, expectTargets } from './chaos-test-support.js';
import { noFault } from './no-fault.scenario.js';

describeChaos('chaos: no fault', () => {
  test('two workers: every call sent once and keyed, no worker reported lost, delays on time', { timeout: 120_000 }, async () => {
    expectTargets(await noFault({ size: 30, workers: 2 }));
  });

  test('three workers: the same', { timeout: 120_000 }, async () => {
    expectTargets(await noFault({ size: 30, workers: 3 }));
  });
});
